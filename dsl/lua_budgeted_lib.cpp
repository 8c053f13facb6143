// Lua 5.4's pattern matcher (lstrlib.c, MIT licence, Copyright (C)
// 1994-2023 Lua.org, PUC-Rio), kept algorithm for algorithm so results are
// identical, with one addition: every step (a call of match, a single
// character test, a byte compared by a plain find) is counted and charged
// to the instruction budget. See lua_budgeted_lib.hpp for why.
#include "dsl/lua_budgeted_lib.hpp"

#include <cctype>
#include <cstring>

#include <lua.hpp>

namespace tollgate::dsl {
namespace {

constexpr int kMaxCaptures = 32;        // LUA_MAXCAPTURES
constexpr int kMaxMatchDepth = 200;     // MAXCCALLS: bounds the C stack
constexpr int64_t kChargeEvery = 1024;  // steps between charges
constexpr char kEsc = '%';
constexpr const char* kSpecials = "^$*+?.([%-";
constexpr ptrdiff_t kCapUnfinished = -1;
constexpr ptrdiff_t kCapPosition = -2;

unsigned char uchar(char c) { return static_cast<unsigned char>(c); }

struct MatchState {
  const char* src_init;
  const char* src_end;
  const char* p_end;
  lua_State* L;
  int matchdepth;
  unsigned char level;
  int64_t steps;  // not yet charged
  struct {
    const char* init;
    ptrdiff_t len;
  } capture[kMaxCaptures];
};

void tick(MatchState* ms, int64_t n = 1) {
  ms->steps += n;
  if (ms->steps >= kChargeEvery) {
    const int64_t due = ms->steps;
    ms->steps = 0;
    charge_instructions(ms->L, due);
  }
}

void settle(MatchState* ms) {
  const int64_t due = ms->steps;
  ms->steps = 0;
  if (due) charge_instructions(ms->L, due);
}

const char* match(MatchState* ms, const char* s, const char* p);

int check_capture(MatchState* ms, int l) {
  l -= '1';
  if (l < 0 || l >= ms->level || ms->capture[l].len == kCapUnfinished)
    return luaL_error(ms->L, "invalid capture index %%%d", l + 1);
  return l;
}

int capture_to_close(MatchState* ms) {
  int level = ms->level;
  for (level--; level >= 0; level--)
    if (ms->capture[level].len == kCapUnfinished) return level;
  return luaL_error(ms->L, "invalid pattern capture");
}

const char* class_end(MatchState* ms, const char* p) {
  switch (*p++) {
    case kEsc:
      if (p == ms->p_end) luaL_error(ms->L, "malformed pattern (ends with '%%')");
      return p + 1;
    case '[':
      if (*p == '^') p++;
      do {  // look for a ']'
        if (p == ms->p_end) luaL_error(ms->L, "malformed pattern (missing ']')");
        if (*(p++) == kEsc && p < ms->p_end) p++;  // skip escapes (e.g. '%]')
      } while (*p != ']');
      return p + 1;
    default:
      return p;
  }
}

int match_class(int c, int cl) {
  int res;
  switch (std::tolower(cl)) {
    case 'a': res = std::isalpha(c); break;
    case 'c': res = std::iscntrl(c); break;
    case 'd': res = std::isdigit(c); break;
    case 'g': res = std::isgraph(c); break;
    case 'l': res = std::islower(c); break;
    case 'p': res = std::ispunct(c); break;
    case 's': res = std::isspace(c); break;
    case 'u': res = std::isupper(c); break;
    case 'w': res = std::isalnum(c); break;
    case 'x': res = std::isxdigit(c); break;
    default: return cl == c;
  }
  if (std::isupper(cl)) res = !res;
  return res;
}

int match_bracket_class(int c, const char* p, const char* ec) {
  int sig = 1;
  if (*(p + 1) == '^') {
    sig = 0;
    p++;  // skip the '^'
  }
  while (++p < ec) {
    if (*p == kEsc) {
      p++;
      if (match_class(c, uchar(*p))) return sig;
    } else if (*(p + 1) == '-' && (p + 2 < ec)) {
      p += 2;
      if (uchar(*(p - 2)) <= c && c <= uchar(*p)) return sig;
    } else if (uchar(*p) == c) {
      return sig;
    }
  }
  return !sig;
}

int single_match(MatchState* ms, const char* s, const char* p, const char* ep) {
  tick(ms);
  if (s >= ms->src_end) return 0;
  const int c = uchar(*s);
  switch (*p) {
    case '.': return 1;
    case kEsc: return match_class(c, uchar(*(p + 1)));
    case '[': return match_bracket_class(c, p, ep - 1);
    default: return uchar(*p) == c;
  }
}

const char* match_balance(MatchState* ms, const char* s, const char* p) {
  if (p >= ms->p_end - 1) luaL_error(ms->L, "malformed pattern (missing arguments to '%%b')");
  if (*s != *p) return nullptr;
  const char b = *p;
  const char e = *(p + 1);
  int cont = 1;
  while (++s < ms->src_end) {
    tick(ms);
    if (*s == e) {
      if (--cont == 0) return s + 1;
    } else if (*s == b) {
      cont++;
    }
  }
  return nullptr;  // the string ends out of balance
}

const char* max_expand(MatchState* ms, const char* s, const char* p, const char* ep) {
  ptrdiff_t i = 0;
  while (single_match(ms, s + i, p, ep)) i++;
  while (i >= 0) {  // the most repetitions that let the rest match
    const char* res = match(ms, s + i, ep + 1);
    if (res) return res;
    i--;
  }
  return nullptr;
}

const char* min_expand(MatchState* ms, const char* s, const char* p, const char* ep) {
  for (;;) {
    const char* res = match(ms, s, ep + 1);
    if (res != nullptr) return res;
    if (single_match(ms, s, p, ep)) s++;
    else return nullptr;
  }
}

const char* start_capture(MatchState* ms, const char* s, const char* p, ptrdiff_t what) {
  const int level = ms->level;
  if (level >= kMaxCaptures) luaL_error(ms->L, "too many captures");
  ms->capture[level].init = s;
  ms->capture[level].len = what;
  ms->level = static_cast<unsigned char>(level + 1);
  const char* res = match(ms, s, p);
  if (res == nullptr) ms->level--;  // undo the capture
  return res;
}

const char* end_capture(MatchState* ms, const char* s, const char* p) {
  const int l = capture_to_close(ms);
  ms->capture[l].len = s - ms->capture[l].init;
  const char* res = match(ms, s, p);
  if (res == nullptr) ms->capture[l].len = kCapUnfinished;
  return res;
}

const char* match_capture(MatchState* ms, const char* s, int l) {
  l = check_capture(ms, l);
  const size_t len = static_cast<size_t>(ms->capture[l].len);
  tick(ms, static_cast<int64_t>(len / 32));
  if (static_cast<size_t>(ms->src_end - s) >= len && std::memcmp(ms->capture[l].init, s, len) == 0)
    return s + len;
  return nullptr;
}

const char* match(MatchState* ms, const char* s, const char* p) {
  if (ms->matchdepth-- == 0) luaL_error(ms->L, "pattern too complex");
  tick(ms);
init:  // goto instead of tail calls, as in Lua
  if (p != ms->p_end) {
    switch (*p) {
      case '(':
        if (*(p + 1) == ')') s = start_capture(ms, s, p + 2, kCapPosition);
        else s = start_capture(ms, s, p + 1, kCapUnfinished);
        break;
      case ')':
        s = end_capture(ms, s, p + 1);
        break;
      case '$':
        if ((p + 1) != ms->p_end) goto dflt;  // not the pattern's last char
        s = (s == ms->src_end) ? s : nullptr;
        break;
      case kEsc:
        switch (*(p + 1)) {
          case 'b':
            s = match_balance(ms, s, p + 2);
            if (s != nullptr) {
              p += 4;
              goto init;
            }
            break;
          case 'f': {
            p += 2;
            if (*p != '[') luaL_error(ms->L, "missing '[' after '%%f' in pattern");
            const char* ep = class_end(ms, p);
            const char previous = (s == ms->src_init) ? '\0' : *(s - 1);
            if (!match_bracket_class(uchar(previous), p, ep - 1) && match_bracket_class(uchar(*s), p, ep - 1)) {
              p = ep;
              goto init;
            }
            s = nullptr;
            break;
          }
          case '0': case '1': case '2': case '3': case '4':
          case '5': case '6': case '7': case '8': case '9':
            s = match_capture(ms, s, uchar(*(p + 1)));
            if (s != nullptr) {
              p += 2;
              goto init;
            }
            break;
          default:
            goto dflt;
        }
        break;
      default:
      dflt: {
        const char* ep = class_end(ms, p);  // points to the optional suffix
        if (!single_match(ms, s, p, ep)) {
          if (*ep == '*' || *ep == '?' || *ep == '-') {  // accepts empty
            p = ep + 1;
            goto init;
          }
          s = nullptr;  // '+' or no suffix
        } else {
          switch (*ep) {
            case '?': {
              const char* res = match(ms, s + 1, ep + 1);
              if (res != nullptr) {
                s = res;
              } else {
                p = ep + 1;
                goto init;
              }
              break;
            }
            case '+':
              s++;  // one match already done
              s = max_expand(ms, s, p, ep);
              break;
            case '*':
              s = max_expand(ms, s, p, ep);
              break;
            case '-':
              s = min_expand(ms, s, p, ep);
              break;
            default:
              s++;
              p = ep;
              goto init;
          }
        }
        break;
      }
    }
  }
  ms->matchdepth++;
  return s;
}

ptrdiff_t get_onecapture(MatchState* ms, int i, const char* s, const char* e, const char** cap) {
  if (i >= ms->level) {
    if (i != 0) luaL_error(ms->L, "invalid capture index %%%d", i + 1);
    *cap = s;
    return e - s;
  }
  const ptrdiff_t capl = ms->capture[i].len;
  *cap = ms->capture[i].init;
  if (capl == kCapUnfinished) luaL_error(ms->L, "unfinished capture");
  else if (capl == kCapPosition) lua_pushinteger(ms->L, (ms->capture[i].init - ms->src_init) + 1);
  return capl;
}

void push_onecapture(MatchState* ms, int i, const char* s, const char* e) {
  const char* cap;
  const ptrdiff_t l = get_onecapture(ms, i, s, e, &cap);
  if (l != kCapPosition) lua_pushlstring(ms->L, cap, static_cast<size_t>(l));
}

int push_captures(MatchState* ms, const char* s, const char* e) {
  const int nlevels = (ms->level == 0 && s) ? 1 : ms->level;
  luaL_checkstack(ms->L, nlevels, "too many captures");
  for (int i = 0; i < nlevels; i++) push_onecapture(ms, i, s, e);
  return nlevels;
}

bool no_specials(const char* p, size_t l) {
  size_t upto = 0;
  do {
    if (std::strpbrk(p + upto, kSpecials) != nullptr) return false;
    upto += std::strlen(p + upto) + 1;  // there may be more after a '\0'
  } while (upto <= l);
  return true;
}

void prepare(MatchState* ms, lua_State* L, const char* s, size_t ls, const char* p, size_t lp) {
  ms->L = L;
  ms->matchdepth = kMaxMatchDepth;
  ms->src_init = s;
  ms->src_end = s + ls;
  ms->p_end = p + lp;
  ms->steps = 0;
}

void reprepare(MatchState* ms) { ms->level = 0; }

size_t posrelat_i(lua_Integer pos, size_t len) {
  if (pos > 0) return static_cast<size_t>(pos);
  if (pos == 0) return 1;
  if (pos < -static_cast<lua_Integer>(len)) return 1;
  return len + static_cast<size_t>(pos) + 1;
}

// A naive search, as Lua's lmemfind, charging every byte compared.
const char* mem_find(MatchState* ms, const char* s1, size_t l1, const char* s2, size_t l2) {
  if (l2 == 0) return s1;
  if (l2 > l1) return nullptr;
  l2--;  // the first byte is found by memchr
  l1 = l1 - l2;
  const char* init;
  while (l1 > 0 && (init = static_cast<const char*>(std::memchr(s1, *s2, l1))) != nullptr) {
    tick(ms, 1 + static_cast<int64_t>((init - s1) / 256 + l2 / 32));
    init++;
    if (std::memcmp(init, s2 + 1, l2) == 0) return init - 1;
    l1 -= static_cast<size_t>(init - s1);
    s1 = init;
  }
  return nullptr;
}

int str_find_aux(lua_State* L, bool find) {
  size_t ls, lp;
  const char* s = luaL_checklstring(L, 1, &ls);
  const char* p = luaL_checklstring(L, 2, &lp);
  const size_t init = posrelat_i(luaL_optinteger(L, 3, 1), ls) - 1;
  if (init > ls) {
    luaL_pushfail(L);
    return 1;
  }
  MatchState ms;
  prepare(&ms, L, s, ls, p, lp);
  if (find && (lua_toboolean(L, 4) || no_specials(p, lp))) {  // a plain search
    const char* s2 = mem_find(&ms, s + init, ls - init, p, lp);
    settle(&ms);
    if (s2) {
      lua_pushinteger(L, (s2 - s) + 1);
      lua_pushinteger(L, static_cast<lua_Integer>(s2 - s) + static_cast<lua_Integer>(lp));
      return 2;
    }
  } else {
    const char* s1 = s + init;
    const bool anchor = (*p == '^');
    if (anchor) {
      p++;
      lp--;
      ms.p_end = p + lp;
    }
    do {
      reprepare(&ms);
      const char* res = match(&ms, s1, p);
      if (res != nullptr) {
        settle(&ms);
        if (find) {
          lua_pushinteger(L, (s1 - s) + 1);
          lua_pushinteger(L, res - s);
          return push_captures(&ms, nullptr, nullptr) + 2;
        }
        return push_captures(&ms, s1, res);
      }
    } while (s1++ < ms.src_end && !anchor);
    settle(&ms);
  }
  luaL_pushfail(L);
  return 1;
}

int str_find(lua_State* L) { return str_find_aux(L, true); }
int str_match(lua_State* L) { return str_find_aux(L, false); }

struct GMatchState {
  const char* src;
  const char* p;
  const char* lastmatch;
  MatchState ms;
};

int gmatch_aux(lua_State* L) {
  auto* gm = static_cast<GMatchState*>(lua_touserdata(L, lua_upvalueindex(3)));
  gm->ms.L = L;
  for (const char* src = gm->src; src <= gm->ms.src_end; src++) {
    reprepare(&gm->ms);
    const char* e = match(&gm->ms, src, gm->p);
    if (e != nullptr && e != gm->lastmatch) {
      settle(&gm->ms);
      gm->src = gm->lastmatch = e;
      return push_captures(&gm->ms, src, e);
    }
  }
  settle(&gm->ms);
  return 0;
}

int str_gmatch(lua_State* L) {
  size_t ls, lp;
  const char* s = luaL_checklstring(L, 1, &ls);
  const char* p = luaL_checklstring(L, 2, &lp);
  size_t init = posrelat_i(luaL_optinteger(L, 3, 1), ls) - 1;
  lua_settop(L, 2);  // the closure keeps both strings alive
  auto* gm = static_cast<GMatchState*>(lua_newuserdatauv(L, sizeof(GMatchState), 0));
  if (init > ls) init = ls + 1;  // no overflow in 's + init'
  prepare(&gm->ms, L, s, ls, p, lp);
  gm->src = s + init;
  gm->p = p;
  gm->lastmatch = nullptr;
  lua_pushcclosure(L, gmatch_aux, 3);
  return 1;
}

void add_s(MatchState* ms, luaL_Buffer* b, const char* s, const char* e) {
  size_t l;
  lua_State* L = ms->L;
  const char* news = lua_tolstring(L, 3, &l);
  tick(ms, static_cast<int64_t>(l / 32));
  const char* p;
  while ((p = static_cast<const char*>(std::memchr(news, kEsc, l))) != nullptr) {
    luaL_addlstring(b, news, static_cast<size_t>(p - news));
    p++;  // skip the escape
    if (*p == kEsc) {
      luaL_addchar(b, *p);
    } else if (*p == '0') {
      luaL_addlstring(b, s, static_cast<size_t>(e - s));
    } else if (std::isdigit(uchar(*p))) {
      const char* cap;
      const ptrdiff_t resl = get_onecapture(ms, *p - '1', s, e, &cap);
      if (resl == kCapPosition) luaL_addvalue(b);
      else luaL_addlstring(b, cap, static_cast<size_t>(resl));
    } else {
      luaL_error(L, "invalid use of '%c' in replacement string", kEsc);
    }
    l -= static_cast<size_t>(p + 1 - news);
    news = p + 1;
  }
  luaL_addlstring(b, news, l);
}

int add_value(MatchState* ms, luaL_Buffer* b, const char* s, const char* e, int tr) {
  lua_State* L = ms->L;
  switch (tr) {
    case LUA_TFUNCTION: {
      settle(ms);  // the callback runs under the hook
      lua_pushvalue(L, 3);
      const int n = push_captures(ms, s, e);
      lua_call(L, n, 1);
      break;
    }
    case LUA_TTABLE:
      push_onecapture(ms, 0, s, e);
      lua_gettable(L, 3);
      break;
    default:  // a number or a string
      add_s(ms, b, s, e);
      return 1;
  }
  if (!lua_toboolean(L, -1)) {  // nil or false: keep the original text
    lua_pop(L, 1);
    luaL_addlstring(b, s, static_cast<size_t>(e - s));
    return 0;
  }
  if (!lua_isstring(L, -1)) return luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
  luaL_addvalue(b);
  return 1;
}

int str_gsub(lua_State* L) {
  size_t srcl, lp;
  const char* src = luaL_checklstring(L, 1, &srcl);
  const char* p = luaL_checklstring(L, 2, &lp);
  const char* lastmatch = nullptr;
  const int tr = lua_type(L, 3);
  const lua_Integer max_s = luaL_optinteger(L, 4, static_cast<lua_Integer>(srcl) + 1);
  const bool anchor = (*p == '^');
  lua_Integer n = 0;
  int changed = 0;
  MatchState ms;
  luaL_Buffer b;
  luaL_argexpected(L, tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION || tr == LUA_TTABLE, 3,
                   "string/function/table");
  luaL_buffinit(L, &b);
  if (anchor) {
    p++;
    lp--;
  }
  prepare(&ms, L, src, srcl, p, lp);
  while (n < max_s) {
    reprepare(&ms);
    const char* e = match(&ms, src, p);
    if (e != nullptr && e != lastmatch) {
      n++;
      changed = add_value(&ms, &b, src, e, tr) | changed;
      src = lastmatch = e;
    } else if (src < ms.src_end) {
      // src is never null: luaL_checklstring raises rather than return null.
      luaL_addchar(&b, *src++);  // NOLINT(clang-analyzer-core.NullDereference)
    } else {
      break;
    }
    if (anchor) break;
  }
  settle(&ms);
  if (!changed) {
    lua_pushvalue(L, 1);
  } else {
    luaL_addlstring(&b, src, static_cast<size_t>(ms.src_end - src));
    luaL_pushresult(&b);
  }
  lua_pushinteger(L, n);
  return 2;
}

// string.rep: Lua's loop runs n times even when every copy is empty.
int str_rep(lua_State* L) {
  size_t l = 0, lsep = 0;
  luaL_checklstring(L, 1, &l);
  const lua_Integer n = luaL_checkinteger(L, 2);
  luaL_optlstring(L, 3, "", &lsep);
  if (n <= 0 || l + lsep == 0) {
    lua_pushliteral(L, "");
    return 1;
  }
  // Otherwise every copy adds a byte at least: the memory limit bounds the loop.
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}

// table.move: Lua's loop visits every index of the range, empty or not.
int tab_move(lua_State* L) {
  const lua_Integer f = luaL_checkinteger(L, 2);
  const lua_Integer e = luaL_checkinteger(L, 3);
  if (e >= f) {
    luaL_argcheck(L, f > 0 || e < LUA_MAXINTEGER + f, 3, "too many elements to move");
    charge_instructions(L, e - f + 1);
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}

// Replaces table[name] by fn, with the original as its upvalue.
void wrap(lua_State* L, int table, const char* name, lua_CFunction fn) {
  lua_getfield(L, table, name);
  lua_pushcclosure(L, fn, 1);
  lua_setfield(L, table, name);
}

}  // namespace

void install_budgeted_library(lua_State* L) {
  lua_getglobal(L, LUA_STRLIBNAME);
  const int str = lua_gettop(L);
  static const luaL_Reg matchers[] = {
      {"find", str_find}, {"match", str_match}, {"gmatch", str_gmatch}, {"gsub", str_gsub}, {nullptr, nullptr}};
  luaL_setfuncs(L, matchers, 0);
  wrap(L, str, "rep", str_rep);
  lua_getglobal(L, LUA_TABLIBNAME);
  wrap(L, lua_gettop(L), "move", tab_move);
  lua_pop(L, 2);
}

}  // namespace tollgate::dsl
