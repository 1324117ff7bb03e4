#ifndef STMLENS_H
#define STMLENS_H
/*
 * stmlens C API: find atoms and defects in STM scans of H-Si(100) 2x1 from C, LabVIEW, vendor C++ or any
 * language with a C foreign-function interface. Link with -lstmlens.
 *
 * Basic usage:
 *
 *     #include <stmlens/stmlens.h>
 *
 *     struct stmlens_options opts = stmlens_default_options();
 *     struct stmlens_context* ctx = stmlens_open("/opt/stmlens/models", opts);   // loads the models once
 *     if (!ctx) { fprintf(stderr, "%s\n", stmlens_last_error(NULL)); return 1; }
 *
 *     char* json = NULL;
 *     if (stmlens_analyze_buffer(ctx, pixels, 512, 512, 0.1, 0.1, &json) == STMLENS_OK) {
 *         puts(json);                  // the stmlens.analysis/1 result (docs/output-schema.md)
 *         stmlens_free(json);
 *     } else {
 *         fprintf(stderr, "%s\n", stmlens_last_error(ctx));
 *     }
 *     stmlens_close(ctx);
 *
 * Thread safety: one context may be used from several threads at once (analyses run concurrently and share the
 * loaded models); stmlens_last_error(ctx) reports the last failure of the calling thread on that context.
 * Only stmlens_close must not race with other calls on the same context.
 *
 * No C++ exception ever leaves these functions: every failure is a return code plus a message.
 */
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define STMLENS_API __attribute__((visibility("default")))
#else
#define STMLENS_API
#endif

#define STMLENS_API_VERSION 1

/* Return codes. */
enum stmlens_status {
    STMLENS_OK = 0,
    STMLENS_ERR_ARGUMENT = 1,   /* a NULL pointer, non-positive size, or a closed context */
    STMLENS_ERR_INPUT = 2,      /* the scan is unreadable or malformed (bad file, unknown format, bad values) */
    STMLENS_ERR_ANALYSIS = 3,   /* the scan is valid but could not be analysed */
    STMLENS_ERR_INTERNAL = 4    /* anything else (out of memory, a bug): the message says what */
};

struct stmlens_context;   /* opaque: models and settings, created by stmlens_open */

/* As a pixel size (options.pixel_size_x_nm, or px_nm_x of stmlens_analyze_buffer; y is then ignored): calibrate it
 * from the dimer rows (0.768 nm apart) even where the file gives one. Real files' calibrations are often a few %
 * off; where no rows show, the file's pixel size is kept (a buffer is then refused), and the result's warnings
 * say so. The result's image.pixel_size_source is "calibrated" where the rows gave it. */
#define STMLENS_PIXEL_SIZE_LATTICE (-1.0)

struct stmlens_options {
    const char* channel;         /* channel to analyse in files; NULL or "" = topography (Z) */
    const char* direction;       /* "forward", "backward"; NULL or "" = forward when there is one */
    double pixel_size_x_nm;      /* stmlens_analyze_file: overrides the file's pixel size when > 0 */
    double pixel_size_y_nm;      /*   (both must be set; 0 = use the file's, or calibrate from the lattice
                                  *   where the file has none; x = STMLENS_PIXEL_SIZE_LATTICE: always from the
                                  *   lattice, for buffers too) */
    double atom_threshold;       /* peak probability for an atom, 0..1 */
    int threads;                 /* threads inside the networks for this process; 0 = leave as is */
};

/* Defaults: topography channel, the file's pixel size, atom threshold 0.5, threads 0. */
STMLENS_API struct stmlens_options stmlens_default_options(void);

/* Loads the three models (subfolders assess/, atoms/, defects/) from models_dir; NULL or "" = the shipped models
 * ($STMLENS_MODELS, else the models/ folder of the installation).
 * Returns a context, or NULL on failure; then stmlens_last_error(NULL) says why (per thread). */
STMLENS_API struct stmlens_context* stmlens_open(const char* models_dir, struct stmlens_options options);

/* Analyses a row-major float image of width x height pixels (row 0 = top) with the given pixel size in nm
 * (both > 0; or px_nm_x = STMLENS_PIXEL_SIZE_LATTICE: calibrated from the dimer rows, STMLENS_ERR_INPUT
 * where none show). NaN/Inf pixels are treated as missing data. On STMLENS_OK, *json_out holds the result as a
 * NUL-terminated JSON string to release with stmlens_free; on failure *json_out is set to NULL.
 * Returns STMLENS_OK, STMLENS_ERR_ARGUMENT, STMLENS_ERR_INPUT, STMLENS_ERR_ANALYSIS or STMLENS_ERR_INTERNAL. */
STMLENS_API int stmlens_analyze_buffer(struct stmlens_context* ctx, const float* pixels, int width, int height,
                                       double px_nm_x, double px_nm_y, char** json_out);

/* Reads and analyses a scan file (any format stmlens reads: .sxm, .sm4, .dat, .gwy, .z_mtrx, .npy, .png, .tif).
 * Same results and return codes as stmlens_analyze_buffer; STMLENS_ERR_INPUT for a missing or malformed file. */
STMLENS_API int stmlens_analyze_file(struct stmlens_context* ctx, const char* path, char** json_out);

/* Releases a string returned by this API. NULL is allowed. */
STMLENS_API void stmlens_free(char* str);

/* Message of the calling thread's last failure on ctx ("" if none); with ctx == NULL, of its last failed
 * stmlens_open. Valid until the thread's next call on that context. Never returns NULL. */
STMLENS_API const char* stmlens_last_error(struct stmlens_context* ctx);

/* Releases the context and its models. NULL is allowed. */
STMLENS_API void stmlens_close(struct stmlens_context* ctx);

/* "0.1.0" */
STMLENS_API const char* stmlens_version(void);

#ifdef __cplusplus
}
#endif

#endif /* STMLENS_H */
