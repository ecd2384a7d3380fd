/*
 * seal.c — sealed frames (seal.h): XChaCha20-Poly1305 over a proto frame,
 * the 44 bytes in clear (seal prefix and frame header) as associated data,
 * keys from crypto_kx and nonces from a per-direction counter.
 */
#include "seal.h"

#include "frame.h"
#include "fs_rng.h"
#include "wire.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t fs__seal_magic[4] = {0x46, 0x53, 0x53, 0x4c}; /* FSSL */

void fs_seal_keypair(uint64_t seed, uint64_t id, uint8_t pk[32],
                     uint8_t sk[32]) {
  fs_seal_keypair_epoch(seed, id, 0, pk, sk);
}

void fs_seal_keypair_epoch(uint64_t seed, uint64_t id, uint64_t epoch,
                           uint8_t pk[32], uint8_t sk[32]) {
  fs_rng r;
  fs_rng_init(&r, seed, FS_RNG_SEAL, id, epoch);
  uint8_t kseed[crypto_kx_SEEDBYTES];
  for (size_t i = 0; i < sizeof kseed; i += 8)
    fs_put_u64(kseed + i, fs_rng_u64(&r));
  crypto_kx_seed_keypair(pk, sk, kseed);
  sodium_memzero(kseed, sizeof kseed);
  sodium_memzero(&r, sizeof r);
}

fs_status fs_seal_session_server(fs_seal_session *s,
                                 const uint8_t server_pk[32],
                                 const uint8_t server_sk[32],
                                 const uint8_t client_pk[32], uint32_t client,
                                 fs_err *err) {
  memset(s, 0, sizeof *s);
  if (crypto_kx_server_session_keys(s->rx_key, s->tx_key, server_pk, server_sk,
                                    client_pk) != 0) {
    fs_seal_session_wipe(s);
    return fs_err_set(err, FS_EAUTH,
                      "seal: public key of client %u refused by crypto_kx",
                      client);
  }
  s->client = client;
  s->tx_dir = FS_SEAL_DOWN;
  s->rx_dir = FS_SEAL_UP;
  s->tx_next = 1;
  return FS_OK;
}

fs_status fs_seal_session_client(fs_seal_session *s,
                                 const uint8_t client_pk[32],
                                 const uint8_t client_sk[32],
                                 const uint8_t server_pk[32], uint32_t client,
                                 fs_err *err) {
  memset(s, 0, sizeof *s);
  if (crypto_kx_client_session_keys(s->rx_key, s->tx_key, client_pk, client_sk,
                                    server_pk) != 0) {
    fs_seal_session_wipe(s);
    return fs_err_set(err, FS_EAUTH,
                      "seal: the server's public key refused by crypto_kx "
                      "(client %u)",
                      client);
  }
  s->client = client;
  s->tx_dir = FS_SEAL_UP;
  s->rx_dir = FS_SEAL_DOWN;
  s->tx_next = 1;
  return FS_OK;
}

void fs_seal_session_wipe(fs_seal_session *s) {
  if (s != NULL)
    sodium_memzero(s, sizeof *s);
}

size_t fs_seal_size(size_t body_len) {
  return FS_SEAL_AD_BYTES + body_len + FS_SEAL_TAG_BYTES;
}

static void make_nonce(uint8_t n[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES],
                       uint8_t dir, uint64_t counter, uint32_t client) {
  memset(n, 0, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  n[0] = dir;
  fs_put_u64(n + 8, counter);
  fs_put_u32(n + 16, client);
}

fs_status fs_seal(fs_seal_session *s, const uint8_t *hdr, const uint8_t *body,
                  size_t body_len, uint8_t *out, size_t *out_len, fs_err *err) {
  if (fs_get_u32(hdr + 12) != s->client || fs_get_u32(hdr + 20) != body_len)
    abort(); /* the caller sealed a header that is not this frame's */
  if (s->tx_next == 0 || s->tx_next == UINT64_MAX)
    return fs_err_set(err, FS_ERANGE,
                      "seal: message counter of client %u exhausted",
                      s->client);
  uint64_t ctr = s->tx_next;
  memcpy(out, fs__seal_magic, 4);
  out[4] = FS_SEAL_VERSION;
  out[5] = s->tx_dir;
  out[6] = out[7] = 0;
  fs_put_u64(out + 8, ctr);
  memcpy(out + FS_SEAL_PREFIX_BYTES, hdr, FS_FRAME_HEADER_BYTES);
  uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
  make_nonce(nonce, s->tx_dir, ctr, s->client);
  unsigned long long maclen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
      out + FS_SEAL_AD_BYTES, out + FS_SEAL_AD_BYTES + body_len, &maclen, body,
      body_len, out, FS_SEAL_AD_BYTES, NULL, nonce, s->tx_key);
  s->tx_next = ctr + 1;
  *out_len = fs_seal_size(body_len);
  return FS_OK;
}

fs_status fs_seal_peek(const uint8_t *in, size_t len, fs_seal_info *info,
                       fs_err *err) {
  /* The magic first, so that a plain frame (a peer that does not seal) is
   * named as such whatever its length. */
  if (len >= 4 && memcmp(in, fs__seal_magic, 4) != 0)
    return fs_err_set(err, FS_EFORMAT,
                      "sealed frame: bad magic 0x%02x%02x%02x%02x (expected "
                      "0x4653534c, \"FSSL\"; is the peer sealing frames?)",
                      in[0], in[1], in[2], in[3]);
  if (len < FS_SEAL_AD_BYTES + FS_SEAL_TAG_BYTES)
    return fs_err_set(err, FS_ETRUNC,
                      "sealed frame: %zu bytes, shorter than the %d bytes of "
                      "its clear header and tag",
                      len, FS_SEAL_AD_BYTES + FS_SEAL_TAG_BYTES);
  if (in[4] != FS_SEAL_VERSION)
    return fs_err_set(err, FS_EVERSION,
                      "sealed frame: version %u not supported (this build "
                      "reads %d)",
                      (unsigned)in[4], FS_SEAL_VERSION);
  if (in[5] != FS_SEAL_DOWN && in[5] != FS_SEAL_UP)
    return fs_err_set(err, FS_EFORMAT, "sealed frame: unknown direction %u",
                      (unsigned)in[5]);
  if (in[6] != 0 || in[7] != 0)
    return fs_err_set(err, FS_EFORMAT,
                      "sealed frame: reserved bytes 0x%02x%02x (must be 0)",
                      in[6], in[7]);
  info->dir = in[5];
  info->counter = fs_get_u64(in + 8);
  info->client = fs_get_u32(in + FS_SEAL_PREFIX_BYTES + 12);
  return FS_OK;
}

fs_status fs_seal_open(fs_seal_session *s, const uint8_t *in, size_t len,
                       uint8_t *out, size_t *out_len, fs_err *err) {
  fs_seal_info info;
  fs_status st = fs_seal_peek(in, len, &info, err);
  if (st != FS_OK)
    return st;
  fs_frame_header h;
  fs_err e2 = {0};
  /* The frame header in clear must describe exactly the bytes between it
   * and the tag. */
  st = fs_frame_header_decode(in + FS_SEAL_PREFIX_BYTES,
                              len - FS_SEAL_PREFIX_BYTES - FS_SEAL_TAG_BYTES,
                              &h, &e2);
  if (st != FS_OK)
    return fs_err_set(err, FS_EFORMAT, "sealed frame: clear header: %s",
                      e2.msg);
  if (info.dir != s->rx_dir)
    return fs_err_set(
        err, FS_EAUTH,
        "sealed frame: travels %s, but this end receives %s "
        "frames (reflected)",
        info.dir == FS_SEAL_DOWN ? "server->client" : "client->server",
        s->rx_dir == FS_SEAL_DOWN ? "server->client" : "client->server");
  if (h.client != s->client)
    return fs_err_set(err, FS_EAUTH,
                      "sealed frame: names client %u, opened by the session "
                      "of client %u",
                      h.client, s->client);
  size_t body_len = h.body_len;
  uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
  make_nonce(nonce, info.dir, info.counter, h.client);
  if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
          out + FS_FRAME_HEADER_BYTES, NULL, in + FS_SEAL_AD_BYTES, body_len,
          in + FS_SEAL_AD_BYTES + body_len, in, FS_SEAL_AD_BYTES, nonce,
          s->rx_key) != 0) {
    sodium_memzero(out, FS_FRAME_HEADER_BYTES + body_len);
    return fs_err_set(err, FS_EAUTH,
                      "sealed frame: authentication failed for client %u "
                      "(counter %llu): altered or forged",
                      h.client, (unsigned long long)info.counter);
  }
  if (info.counter <= s->rx_last) {
    sodium_memzero(out, FS_FRAME_HEADER_BYTES + body_len);
    return fs_err_set(err, FS_EREPLAY,
                      "sealed frame: replay: client %u counter %llu (round "
                      "%u, model version %u) is not above the last accepted "
                      "%llu",
                      h.client, (unsigned long long)info.counter, h.round,
                      h.model_version, (unsigned long long)s->rx_last);
  }
  memcpy(out, in + FS_SEAL_PREFIX_BYTES, FS_FRAME_HEADER_BYTES);
  s->rx_last = info.counter;
  *out_len = FS_FRAME_HEADER_BYTES + body_len;
  return FS_OK;
}
