// SPDX-License-Identifier: MIT
#include "ownership.hpp"

#include <pwd.h>
#include <unistd.h>

#include <fmt/format.h>

namespace ipcx::detail {

Result<bool> owner_any(const Url& url) {
  auto v = url.option("owner");
  if (!v || *v == "self") return false;
  if (*v == "any") return true;
  return fail(Errc::bad_url, "url", url.text, fmt::format("option owner='{}' is not self or any", shorten_input(*v)));
}

Result<void> check_owner(uid_t owner, bool any, std::string_view object, const char* op) {
  const uid_t me = ::geteuid();
  if (any || owner == me) return {};
  passwd pw{};
  passwd* res = nullptr;
  char buf[1024];
  std::string who = ::getpwuid_r(owner, &pw, buf, sizeof buf, &res) == 0 && res
                        ? fmt::format("{} (uid {})", res->pw_name, owner)
                        : fmt::format("uid {}", owner);
  return fail(Error::from_errno(op, EACCES, object)
                  .with_detail(fmt::format("it exists and belongs to {}, not to you (uid {}); another user may have "
                                           "made it first to read what you send. Add owner=any to the URL if that "
                                           "owner is expected",
                                           who, me)));
}

}  // namespace ipcx::detail
