// The one translation unit that compiles Boost.Asio and Boost.Beast (separate compilation):
// every other file includes their headers only, which keeps build times down.
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
