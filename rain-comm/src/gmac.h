// AES-256 GMAC: GCM with an empty plaintext, the message as associated data, a 96-bit nonce and
// a 16-byte tag (NIST SP 800-38D). The TM's packet MAC (auth.h, docs/transport.md §3).
//
// One construction, two library implementations picked by message length, because neither is the
// fastest at every length on our CPUs (measured, docs/transport.md §3): libsodium's AES-NI/PCLMUL
// code has the lowest fixed cost (≈70 ns for a 64-byte packet, OpenSSL's EVP path ≈240 ns), and
// OpenSSL's 8-block aggregated GHASH is ≈30 % faster on 64 KB loopback packets. Both compute the
// same function, so the tag on the wire does not depend on which one ran (tested against each
// other and against a NIST vector in wire_test.cc). No cryptographic code of our own.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace rain::comm {

inline constexpr size_t kGmacKeyBytes = 32;
inline constexpr size_t kGmacNonceBytes = 12;
inline constexpr size_t kGmacTagBytes = 16;
// Messages of at least this many bytes go to OpenSSL, shorter ones to libsodium: the measured
// crossover (both ≈5 GB/s at 8 KB; libsodium ahead below, OpenSSL ahead above).
inline constexpr size_t kGmacOpenSslMinBytes = 8192;

class Gmac {
 public:
  enum class Backend { kAuto, kSodium, kOpenSsl };

  // True when this CPU runs both implementations with AES-NI and PCLMUL (libsodium refuses
  // otherwise). Transport::Create refuses to run without them.
  static bool Available();

  // Precomputes both implementations' key schedules. Requires Available().
  explicit Gmac(const std::array<uint8_t, kGmacKeyBytes>& key);
  ~Gmac();
  Gmac(Gmac&&) noexcept;
  Gmac& operator=(Gmac&&) noexcept;

  // Writes the tag of `message` under `nonce`. kAuto picks by length (kGmacOpenSslMinBytes); the
  // others force one implementation (tests). Not thread-safe: the OpenSSL context is reused for
  // every call (one Transport, one thread).
  void Tag(std::span<const uint8_t> message, std::span<const uint8_t, kGmacNonceBytes> nonce,
           std::span<uint8_t, kGmacTagBytes> tag_out, Backend backend = Backend::kAuto) const;

  // True when `tag` is the tag of `message` under `nonce` (constant-time comparison).
  bool Check(std::span<const uint8_t> message, std::span<const uint8_t, kGmacNonceBytes> nonce,
             std::span<const uint8_t, kGmacTagBytes> tag) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace rain::comm
