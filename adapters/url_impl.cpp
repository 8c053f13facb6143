// Boost.URL's non-template code, compiled once for parse_base_url
// (adapters/http/http_client.cpp), in a translation unit of its own as
// Asio's and Beast's are: an embedder that compiles Boost.URL itself
// defines these symbols first, and the linker never pulls this member.
#include <boost/url/src.hpp>
