/* png-stats FILE.png — print "WIDTH HEIGHT INK" where INK is the share of pixels that are not
 * (nearly) white: the report test's "is the screenshot blank?" check.  Exit 1 if unreadable. */
#include <cairo.h>
#include <stdint.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: png-stats FILE.png\n");
        return 2;
    }
    cairo_surface_t *s = cairo_image_surface_create_from_png(argv[1]);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
        fprintf(stderr, "png-stats: %s: %s\n", argv[1], cairo_status_to_string(cairo_surface_status(s)));
        cairo_surface_destroy(s);
        return 1;
    }
    cairo_surface_flush(s);
    int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
    int stride = cairo_image_surface_get_stride(s);
    const unsigned char *d = cairo_image_surface_get_data(s);
    uint64_t ink = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint32_t p = *(const uint32_t *)(d + (size_t)y * stride + (size_t)x * 4);
            int r = (p >> 16) & 255, g = (p >> 8) & 255, b = p & 255;
            if (r < 235 || g < 235 || b < 235) ink++;
        }
    printf("%d %d %.4f\n", w, h, w && h ? (double)ink / ((double)w * h) : 0.0);
    cairo_surface_destroy(s);
    return 0;
}
