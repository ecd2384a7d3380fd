/*
 * wire.h — little-endian writers and a bounds-checked reader cursor.
 * Integers and floats are written byte by byte, never as raw structs.
 */
#ifndef FS_WIRE_H
#define FS_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline void fs_put_u16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}
static inline void fs_put_u32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}
static inline void fs_put_u64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t fs_get_u16(const uint8_t *p) {
  return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t fs_get_u32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
         ((uint32_t)p[3] << 24);
}
static inline uint64_t fs_get_u64(const uint8_t *p) {
  return (uint64_t)fs_get_u32(p) | ((uint64_t)fs_get_u32(p + 4) << 32);
}
static inline void fs_put_f32(uint8_t *p, float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  fs_put_u32(p, u);
}
static inline float fs_get_f32(const uint8_t *p) {
  uint32_t u = fs_get_u32(p);
  float f;
  memcpy(&f, &u, 4);
  return f;
}
static inline void fs_put_f64(uint8_t *p, double f) {
  uint64_t u;
  memcpy(&u, &f, 8);
  fs_put_u64(p, u);
}
static inline double fs_get_f64(const uint8_t *p) {
  uint64_t u = fs_get_u64(p);
  double f;
  memcpy(&f, &u, 8);
  return f;
}

#endif
