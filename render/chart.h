/* chart.h — charts as data: a Chart (what to show) is laid out into a ChartScene (where every
 * mark, line and label goes) by pure code, then painted by chart-cairo.c onto SVG, PNG or PDF.
 * Layout is unit-tested without cairo: text widths are estimated from character counts.
 *
 * Conventions: honest axes (bars start at zero; units in axis titles), ticks at 1/2/5 × 10^k
 * (or powers of two on log2 axes), labels that never overlap (thinned or ellipsised), the
 * Okabe–Ito palette (distinguishable with the common colour-vision deficiencies), and an
 * explicit message when there is nothing to draw. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef enum {
    CHART_STACKED_AREA, /* x: time; one band per series, stacked (pool outstanding, CPU use) */
    CHART_HBAR,         /* one horizontal bar per category (AIFO bytes by tag) */
    CHART_HISTOGRAM,    /* log2 buckets on x, counts on y, stacked by series (DPC durations) */
    CHART_LANES,        /* one lane per row (CPU) over time; cells coloured by category */
} ChartKind;

typedef enum { CHART_UNIT_NONE, CHART_UNIT_BYTES, CHART_UNIT_SECONDS, CHART_UNIT_US, CHART_UNIT_PERCENT } ChartUnit;

typedef struct {
    char    *name;
    double  *v;        /* n values (area: per x; histogram: per bucket) */
} ChartSeries;

typedef struct {
    double   x;        /* data value (area/lanes: x; histogram: bucket bound) */
    char    *label;
    bool     vertical; /* a vertical line at x (else horizontal at y = x) */
} ChartMarker;

typedef struct {       /* one coloured cell of a lane */
    uint32_t lane;
    double   x0, x1;   /* data x */
    int      category; /* index into categories; -1: none */
    double   alpha;    /* 0..1: share of the cell that is busy */
} ChartCell;

typedef struct {
    ChartKind kind;
    char     *title, *subtitle;
    char     *x_title, *y_title;
    ChartUnit x_unit, y_unit;
    int       width, height;       /* pixels (points for PDF) */
    char     *empty_message;       /* shown instead of the plot when there is no data */
    /* area / histogram */
    double   *x;                   /* area: n_x sample positions; histogram: n_x upper bounds */
    guint     n_x;
    GPtrArray *series;             /* ChartSeries*; drawn in order, first at the bottom */
    /* hbar */
    GPtrArray *bar_labels;         /* char* */
    GArray   *bar_values;          /* double */
    /* lanes */
    GPtrArray *lane_names;         /* char* */
    GPtrArray *categories;         /* char* (legend) */
    GArray   *cells;               /* ChartCell */
    double    x_min, x_max;        /* lanes: data range */
    /* reference lines */
    GArray   *markers;             /* ChartMarker */
} Chart;

Chart *chart_new(ChartKind kind, int width, int height);
void   chart_free(Chart *c);
void   chart_set_titles(Chart *c, const char *title, const char *subtitle, const char *x_title, const char *y_title);
/* Series values are copied (n = n_x for area/histogram). */
void   chart_add_series(Chart *c, const char *name, const double *v, guint n);
void   chart_add_bar(Chart *c, const char *label, double value);
void   chart_add_marker(Chart *c, double x, const char *label, bool vertical);
guint  chart_add_category(Chart *c, const char *name);
bool   chart_is_empty(const Chart *c);

/* ------------------------------------------------------------------ scale and ticks */
/* Ticks at 1, 2 or 5 × 10^k covering [lo, hi] with at most max_ticks ticks; the range is
 * widened to whole ticks.  Returns the number of ticks written to out (≤ 64). */
guint  chart_nice_ticks(double lo, double hi, guint max_ticks, double *out, double *step);
/* "1.5 MiB", "250 µs", "2 s", "40 %", "1,200" — short labels for ticks and values. */
char  *chart_format_value(double v, ChartUnit unit);
/* Estimated width of text in pixels at a font size (no font metrics: 0.56 em per char). */
double chart_text_width(const char *s, double size);
/* Okabe–Ito colours as 0xRRGGBB: index 0..7, then repeated; "other" is grey. */
uint32_t chart_palette(guint i);
#define CHART_OTHER_COLOR 0xBBBBBBu

/* ------------------------------------------------------------------ scene */
typedef enum { PRIM_RECT, PRIM_LINE, PRIM_POLYGON, PRIM_TEXT } ChartPrimKind;
typedef enum { ANCHOR_START, ANCHOR_MIDDLE, ANCHOR_END } ChartAnchor;

typedef struct {
    ChartPrimKind kind;
    double   x, y, w, h;           /* rect; line: (x,y)-(w,h) as the second point; text: position (baseline) */
    double  *pts;                  /* polygon: 2*npts */
    guint    npts;
    uint32_t rgb;
    double   alpha;                /* 1 = opaque */
    double   line_width;           /* lines; 0 = fill only (rects, polygons) */
    bool     dashed;
    char    *text;
    double   size;                 /* font size, px */
    ChartAnchor anchor;
    bool     bold;
    bool     vertical;             /* text rotated -90° */
} ChartPrim;

typedef struct {
    int     width, height;
    GArray *prims;                 /* ChartPrim, in painting order */
    /* plot area, for tests */
    double  plot_x, plot_y, plot_w, plot_h;
    guint   x_ticks_shown, y_ticks_shown;
} ChartScene;

ChartScene *chart_layout(const Chart *c);
void        chart_scene_free(ChartScene *s);

/* ------------------------------------------------------------------ painting (cairo) */
typedef enum { CHART_SVG, CHART_PNG, CHART_PDF } ChartFormat;
/* From a file name's extension (.svg, .png, .pdf); false otherwise. */
bool chart_format_from_path(const char *path, ChartFormat *out);
/* Paint to a file (written whole; the caller renames temporary files into place). */
bool chart_paint_file(const ChartScene *s, ChartFormat f, const char *path, GError **error);
/* SVG into memory (for the HTML report).  g_free. */
char *chart_paint_svg_string(const ChartScene *s, gsize *len);
/* Free cairo's and fontconfig's process-wide caches (at exit, after the last chart). */
void  chart_release_caches(void);

G_END_DECLS
