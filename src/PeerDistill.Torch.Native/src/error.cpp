// Thread-local error text and the string hand-off to the managed side.
#include "common.h"

#include <cstdlib>
#include <cstring>

namespace {
thread_local std::string last_error;
}

namespace pd {
int32_t set_error(int32_t code, const std::string& message) {
  last_error = message;
  return code;
}
}  // namespace pd

static char* dup_string(const std::string& s) {
  char* out = static_cast<char*>(std::malloc(s.size() + 1));
  if (out != nullptr) std::memcpy(out, s.c_str(), s.size() + 1);
  return out;
}

// Returns the calling thread's last error message as a malloc'd string (free with
// pd_free_string) and clears it.
PD_API char* pd_take_error() {
  char* out = dup_string(last_error);
  last_error.clear();
  return out;
}

PD_API void pd_free_string(char* s) { std::free(s); }

// Used by the other files to return strings to the managed side.
char* pd_dup_string(const std::string& s) { return dup_string(s); }
