/* chart-cairo.c — paint a ChartScene with cairo: SVG, PNG and PDF. */
#include "chart.h"

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <cairo.h>
#include <dlfcn.h>
#include <string.h>

void chart_release_caches(void)
{
    /* cairo and fontconfig keep font caches for the life of the process; freeing them at exit
     * keeps leak checkers (the ASan test build) quiet about memory that is not ours.  FcFini is
     * looked up at run time: fontconfig is cairo's dependency, not etla's. */
    cairo_debug_reset_static_data();
    void (*fc_fini)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "FcFini");
    if (fc_fini) fc_fini();
}

bool chart_format_from_path(const char *path, ChartFormat *out)
{
    const char *dot = path ? strrchr(path, '.') : NULL;
    if (!dot) return false;
    if (!g_ascii_strcasecmp(dot, ".svg")) *out = CHART_SVG;
    else if (!g_ascii_strcasecmp(dot, ".png")) *out = CHART_PNG;
    else if (!g_ascii_strcasecmp(dot, ".pdf")) *out = CHART_PDF;
    else return false;
    return true;
}

static void set_rgb(cairo_t *cr, uint32_t rgb, double alpha)
{
    cairo_set_source_rgba(cr, ((rgb >> 16) & 255) / 255.0, ((rgb >> 8) & 255) / 255.0, (rgb & 255) / 255.0, alpha);
}

static void paint(cairo_t *cr, const ChartScene *s)
{
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    for (guint i = 0; i < s->prims->len; i++) {
        const ChartPrim *p = &g_array_index(s->prims, ChartPrim, i);
        switch (p->kind) {
        case PRIM_RECT:
            set_rgb(cr, p->rgb, p->alpha);
            cairo_rectangle(cr, p->x, p->y, p->w, p->h);
            cairo_fill(cr);
            break;
        case PRIM_LINE: {
            set_rgb(cr, p->rgb, p->alpha);
            cairo_set_line_width(cr, p->line_width > 0 ? p->line_width : 1);
            static const double dash[] = { 4, 3 };
            cairo_set_dash(cr, dash, p->dashed ? 2 : 0, 0);
            /* crisp 1-px lines: on pixel centres */
            double off = p->line_width <= 1 ? 0.5 : 0;
            double x0 = p->x, y0 = p->y, x1 = p->w, y1 = p->h;
            if (x0 == x1) x0 = x1 = (double)(int)x0 + off;
            if (y0 == y1) y0 = y1 = (double)(int)y0 + off;
            cairo_move_to(cr, x0, y0);
            cairo_line_to(cr, x1, y1);
            cairo_stroke(cr);
            cairo_set_dash(cr, NULL, 0, 0);
            break;
        }
        case PRIM_POLYGON:
            if (p->npts < 3) break;
            set_rgb(cr, p->rgb, p->alpha);
            cairo_move_to(cr, p->pts[0], p->pts[1]);
            for (guint k = 1; k < p->npts; k++) cairo_line_to(cr, p->pts[2 * k], p->pts[2 * k + 1]);
            cairo_close_path(cr);
            cairo_fill(cr);
            break;
        case PRIM_TEXT: {
            if (!p->text || !*p->text) break;
            set_rgb(cr, p->rgb, p->alpha);
            cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                                   p->bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
            cairo_set_font_size(cr, p->size);
            cairo_text_extents_t ext;
            cairo_text_extents(cr, p->text, &ext);
            double dx = p->anchor == ANCHOR_MIDDLE ? -ext.x_advance / 2 : p->anchor == ANCHOR_END ? -ext.x_advance : 0;
            cairo_save(cr);
            cairo_translate(cr, p->x, p->y);
            if (p->vertical) cairo_rotate(cr, -G_PI / 2);
            cairo_move_to(cr, dx, 0);
            cairo_show_text(cr, p->text);
            cairo_restore(cr);
            break;
        }
        }
    }
}

static cairo_status_t to_string(void *closure, const unsigned char *data, unsigned int length)
{
    g_string_append_len(closure, (const char *)data, length);
    return CAIRO_STATUS_SUCCESS;
}

char *chart_paint_svg_string(const ChartScene *s, gsize *len)
{
    GString *out = g_string_new(NULL);
    cairo_surface_t *surf = cairo_svg_surface_create_for_stream(to_string, out, s->width, s->height);
    cairo_t *cr = cairo_create(surf);
    paint(cr, s);
    cairo_destroy(cr);
    cairo_surface_finish(surf);
    cairo_surface_destroy(surf);
    if (len) *len = out->len;
    return g_string_free(out, FALSE);
}

bool chart_paint_file(const ChartScene *s, ChartFormat f, const char *path, GError **error)
{
    cairo_surface_t *surf;
    switch (f) {
    case CHART_SVG: surf = cairo_svg_surface_create(path, s->width, s->height); break;
    case CHART_PDF: surf = cairo_pdf_surface_create(path, s->width, s->height); break;
    default: surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, s->width, s->height); break;
    }
    cairo_status_t st = cairo_surface_status(surf);
    if (st == CAIRO_STATUS_SUCCESS) {
        cairo_t *cr = cairo_create(surf);
        paint(cr, s);
        st = cairo_status(cr);
        cairo_destroy(cr);
        if (st == CAIRO_STATUS_SUCCESS && f == CHART_PNG) st = cairo_surface_write_to_png(surf, path);
        cairo_surface_finish(surf);
        if (st == CAIRO_STATUS_SUCCESS) st = cairo_surface_status(surf);
    }
    cairo_surface_destroy(surf);
    if (st != CAIRO_STATUS_SUCCESS) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "cannot draw %s: %s", path, cairo_status_to_string(st));
        return false;
    }
    return true;
}
