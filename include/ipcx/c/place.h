// SPDX-License-Identifier: MIT
/* ipcx C API: placing a struct in shared memory — constructed once, found by every other
 * process, its layout checked. Included by <ipcx/ipcx.h>.
 *
 *   struct book { ipcx_mutex lock; ipcx_cond changed; uint64_t orders; };
 *   #define BOOK_MAGIC 0x6f72646572736231u                        // yours: names the struct
 *   // creator: claim, initialise in place, publish
 *   struct book* b = ipcx_place_claim(ipcx_mapping_data(m), ipcx_mapping_size(m), BOOK_MAGIC, 1,
 *                                     sizeof *b, _Alignof(struct book), &err);
 *   ipcx_mutex_init(&b->lock, &err); ipcx_cond_init(&b->changed, &err);
 *   ipcx_place_publish(ipcx_mapping_data(m));
 *   // every other process: waits until published, then checks magic, version, size, alignment
 *   struct book* t = ipcx_place_find(ipcx_mapping_data(m2), ipcx_mapping_size(m2), BOOK_MAGIC, 1,
 *                                    sizeof *t, _Alignof(struct book), 1000, &err);
 *
 * The region (the start of a mapping: 64-byte aligned, zero-filled when new) begins with a
 * 64-byte header (docs/shared-memory.md) that records the magic, the version, the struct's
 * size and alignment and a state word; the struct follows it. Exactly one claim wins (the
 * others get EEXIST); a finder sleeps on the state word until the creator publishes, then
 * gets IPCX_CORRUPT if anything differs, so a program built with another layout of the
 * struct never misreads it. Bump the version whenever the struct changes. A creator that
 * dies between claim and publish leaves the region claimed: finders time out and are told
 * so. This is the C form of ipcx::construct_object / find_object (placement.hpp), and the
 * two read each other's regions. The struct must hold no pointers into one process's
 * memory (another process maps the region elsewhere). */
#ifndef IPCX_C_PLACE_H
#define IPCX_C_PLACE_H

#include <stddef.h>
#include <stdint.h>

#include "ipcx/c/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes a region needs for a struct of `size` and `align` behind the header. */
size_t ipcx_place_size(size_t size, size_t align);
/* Claims the header at `region` for a struct of `size`/`align` tagged (magic, version) and
 * returns where to initialise it, or NULL: EEXIST (IPCX_SYSTEM) if the region is claimed
 * already, IPCX_INVALID_ARGUMENT if it is too small or not 64-byte aligned. */
void* ipcx_place_claim(void* region, size_t region_size, uint64_t magic, uint32_t version, size_t size,
                       size_t align, ipcx_error* err);
/* Marks the claimed struct initialised and wakes the finders. */
void ipcx_place_publish(void* region);
/* Waits (timeout_ms as everywhere) until the struct at `region` is published, checks it, and
 * returns its address, or NULL: IPCX_TIMED_OUT if it is not published in time (with
 * timeout 0 too: the one call here where 0 is not IPCX_WOULD_BLOCK, as in C++'s
 * find_object), IPCX_CORRUPT if the magic, version, size or alignment differ. */
void* ipcx_place_find(void* region, size_t region_size, uint64_t magic, uint32_t version, size_t size,
                      size_t align, long timeout_ms, ipcx_error* err);

#ifdef __cplusplus
}
#endif

#endif /* IPCX_C_PLACE_H */
