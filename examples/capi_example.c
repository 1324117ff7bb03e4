/* stmlens C API example: analyse a scan file, then an in-memory image, and print both results.
 *
 *   capi_example MODELS_DIR SCAN_FILE [PX_NM_X PX_NM_Y]
 *
 * Exit status: 0 when both analyses succeed, otherwise the failing call's stmlens_status. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <stmlens/stmlens.h>

int main(int argc, char** argv) {
    if (argc != 3 && argc != 5) {
        fprintf(stderr, "usage: %s MODELS_DIR SCAN_FILE [PX_NM_X PX_NM_Y]\n", argv[0]);
        return 64;
    }
    struct stmlens_options opts = stmlens_default_options();
    if (argc == 5) {   /* formats without calibration (e.g. .npy) need the pixel size */
        opts.pixel_size_x_nm = atof(argv[3]);
        opts.pixel_size_y_nm = atof(argv[4]);
    }
    struct stmlens_context* ctx = stmlens_open(argv[1], opts);
    if (!ctx) {
        fprintf(stderr, "stmlens_open: %s\n", stmlens_last_error(NULL));
        return STMLENS_ERR_INPUT;
    }

    char* json = NULL;
    int rc = stmlens_analyze_file(ctx, argv[2], &json);
    if (rc != STMLENS_OK) {
        fprintf(stderr, "stmlens_analyze_file: %s\n", stmlens_last_error(ctx));
        stmlens_close(ctx);
        return rc;
    }
    printf("%s\n", json);
    stmlens_free(json);

    /* An image the control software already holds: 128 x 128 pixels of 0.1 nm, rows of bumps. */
    enum { W = 128, H = 128 };
    float* pixels = malloc(sizeof(float) * W * H);
    if (!pixels) return STMLENS_ERR_INTERNAL;
    for (int y = 0; y < H; ++y)
        for (int x = 0; x < W; ++x)
            pixels[y * W + x] = (float)(0.05 * cos(x * 0.1 * 6.2832 / 0.768) * cos(y * 0.1 * 6.2832 / 0.384));
    rc = stmlens_analyze_buffer(ctx, pixels, W, H, 0.1, 0.1, &json);
    free(pixels);
    if (rc != STMLENS_OK) {
        fprintf(stderr, "stmlens_analyze_buffer: %s\n", stmlens_last_error(ctx));
        stmlens_close(ctx);
        return rc;
    }
    printf("%s\n", json);
    stmlens_free(json);

    stmlens_close(ctx);
    return 0;
}
