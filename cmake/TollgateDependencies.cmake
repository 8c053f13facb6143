# Finds tollgate's dependencies and fails early with the Debian package to
# install. Used by the build and, installed, by tollgateConfig.cmake, so a
# consumer of the installed package resolves the same imported targets.
include_guard(GLOBAL)

set(_tg_missing "")
set(_tg_missing_packages "")
macro(_tg_need found pkg what)
  if(NOT ${found})
    list(APPEND _tg_missing "${what} (Debian package: ${pkg})")
    list(APPEND _tg_missing_packages ${pkg})
  endif()
endmacro()

find_package(Threads REQUIRED)

# Lua 5.4: Debian installs headers in include/lua5.4 and no CMake config.
find_path(TOLLGATE_LUA_INCLUDE_DIR lua.hpp PATH_SUFFIXES lua5.4 NO_CACHE)
# The C++ build of Lua: a Lua error unwinds C++ frames (destructors run)
# instead of longjmp-ing over them. Its symbols keep C linkage.
find_library(TOLLGATE_LUA_LIBRARY NAMES lua5.4-c++ NO_CACHE)
if(TOLLGATE_LUA_INCLUDE_DIR AND TOLLGATE_LUA_LIBRARY)
  if(NOT TARGET TollgateDeps::lua)
    add_library(TollgateDeps::lua UNKNOWN IMPORTED GLOBAL)
    set_target_properties(TollgateDeps::lua PROPERTIES
      IMPORTED_LOCATION "${TOLLGATE_LUA_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${TOLLGATE_LUA_INCLUDE_DIR}"
      INTERFACE_LINK_LIBRARIES "m;${CMAKE_DL_LIBS}")
  endif()
  set(_tg_lua_found TRUE)
else()
  set(_tg_lua_found FALSE)
endif()
_tg_need(_tg_lua_found liblua5.4-dev "Lua 5.4")

find_package(SQLite3 QUIET)
_tg_need(SQLite3_FOUND libsqlite3-dev "SQLite 3")

find_package(Boost 1.81 QUIET CONFIG)
_tg_need(Boost_FOUND libboost1.81-dev "Boost 1.81 (Asio, Beast)")

find_package(nlohmann_json 3 QUIET CONFIG)
_tg_need(nlohmann_json_FOUND nlohmann-json3-dev "nlohmann/json 3")

find_package(OpenSSL QUIET)
_tg_need(OPENSSL_FOUND libssl-dev "OpenSSL")

# libpq: budget leases (and later the ledger) in PostgreSQL.
find_package(PostgreSQL QUIET)
_tg_need(PostgreSQL_FOUND libpq-dev "libpq (PostgreSQL client)")

# The command-line tools' flags (header-only, so never a dependency of the
# installed library: a consumer's find_package(tollgate) does not look).
if(TOLLGATE_BUILD_TOOLS)
  find_package(CLI11 2 QUIET CONFIG)
  _tg_need(CLI11_FOUND libcli11-dev "CLI11 2 (the tollgate and tollgate-mock commands)")
endif()

if(_tg_missing)
  list(JOIN _tg_missing "\n  " _tg_list)
  list(JOIN _tg_missing_packages " " _tg_packages)
  message(FATAL_ERROR "tollgate: missing dependencies:\n  ${_tg_list}\n"
                      "Install them with: apt-get install -y ${_tg_packages}")
endif()
