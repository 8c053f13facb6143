# cmake -DIN=file -DOUT=file.cpp -P EmbedText.cmake
# Writes a .cpp defining tollgate::detail::default_catalog_json() from IN.
file(READ "${IN}" _hex HEX)
string(LENGTH "${_hex}" _len)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," _bytes "${_hex}")
file(WRITE "${OUT}" "// Generated from ${IN}; do not edit.\n#include <string_view>\n"
  "namespace tollgate::detail {\nstatic const char kData[] = {${_bytes} 0};\n"
  "std::string_view default_catalog_json() { return {kData, sizeof(kData) - 1}; }\n}\n")
