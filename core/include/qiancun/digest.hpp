#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

/// SHA-256 digests (OpenSSL) for import provenance and registry fingerprints.

namespace qiancun {

/// Incremental SHA-256; `hex()` ends it and returns 64 lower-case hex digits.
class Sha256 {
public:
    Sha256();
    Sha256(Sha256 &&) noexcept;
    Sha256 &operator=(Sha256 &&) noexcept;
    Sha256(const Sha256 &) = delete;
    Sha256 &operator=(const Sha256 &) = delete;
    ~Sha256();

    void update(std::string_view bytes);
    std::string hex();

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

/// SHA-256 of a file's bytes; throws Error if it cannot be read.
std::string sha256_file(const std::filesystem::path &path);

} // namespace qiancun
