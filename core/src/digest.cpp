#include "qiancun/digest.hpp"

#include "qiancun/error.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <array>
#include <fstream>

#include "qiancun/i18n.hpp"

namespace qiancun {

struct Sha256::Impl {
    struct Free {
        void operator()(EVP_MD_CTX *c) const noexcept { EVP_MD_CTX_free(c); }
    };
    std::unique_ptr<EVP_MD_CTX, Free> ctx{EVP_MD_CTX_new()};
};

Sha256::Sha256() : m_impl(std::make_unique<Impl>()) {
    if (!m_impl->ctx || EVP_DigestInit_ex(m_impl->ctx.get(), EVP_sha256(), nullptr) != 1)
        throw Error(_("cannot initialise SHA-256"));
}

Sha256::Sha256(Sha256 &&) noexcept = default;
Sha256 &Sha256::operator=(Sha256 &&) noexcept = default;
Sha256::~Sha256() = default;

void Sha256::update(std::string_view bytes) {
    EVP_DigestUpdate(m_impl->ctx.get(), bytes.data(), bytes.size());
}

std::string Sha256::hex() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int n = 0;
    EVP_DigestFinal_ex(m_impl->ctx.get(), md.data(), &n);
    std::string out;
    for (unsigned int i = 0; i < n; ++i)
        out += fmt::format("{:02x}", md[i]);
    return out;
}

std::string sha256_file(const std::filesystem::path &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error(fmt::format(fmt::runtime(_("{}: cannot read the file")), path.string()));
    Sha256 h;
    std::array<char, 1 << 16> buf{};
    while (in) {
        in.read(buf.data(), buf.size());
        h.update(std::string_view(buf.data(), static_cast<std::size_t>(in.gcount())));
    }
    return h.hex();
}

} // namespace qiancun
