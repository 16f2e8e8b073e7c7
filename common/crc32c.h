/*
 * crc32c.h - CRC-32C (Castagnoli), the checksum of the on-disk log frames
 * and of stored chunks.
 *
 * It detects torn and damaged data, not tampering (whoever can write the
 * data directory can rewrite data and its checksum alike). The value is
 * that of RFC 3720 (iSCSI): crc32c("123456789") = 0xe3069283.
 * crc32c_update() continues a checksum over data given in pieces: start
 * from 0.
 */
#ifndef QFS_COMMON_CRC32C_H
#define QFS_COMMON_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t crc32c_update(uint32_t crc, const void *data, size_t len);

/* The portable table-driven version crc32c_update() falls back to; the same
 * value, byte at a time (about 0.3 GB/s here). Exposed for the tests. */
uint32_t crc32c_update_table(uint32_t crc, const void *data, size_t len);

#endif
