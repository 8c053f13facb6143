-- A policy with a mistake in the route declared on line 4, for `tollgate check`'s test.
route "fast" { when = { task = "fast" }, try = { "gpt-4o-mini" } }

route "code" {
  when = { task = "code" },
  try  = { "deepseek-chat", "gpt-5o" },
}
