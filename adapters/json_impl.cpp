// Boost.JSON's non-template code (its error category, the parser's stack),
// compiled once for the reader in adapters/json/json_reader.hpp, which uses
// only basic_parser. In a translation unit of its own as Asio's and Beast's
// are: an embedder that compiles Boost.JSON itself defines these symbols
// first, and the linker never pulls this member.
#include <boost/json/src.hpp>
