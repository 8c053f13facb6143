# ctest cases that run the tools and examples as a user would.
set(_tg ${PROJECT_SOURCE_DIR})
if(TARGET tollgate_cli)
  add_test(NAME "cli: tollgate test policies/" COMMAND tollgate_cli test ${_tg}/policies)
  # Each shipped policy is a standalone example, so each is checked alone.
  file(GLOB _tg_policies ${_tg}/policies/*.lua)
  add_test(NAME "cli: tollgate check policies/*.lua" COMMAND tollgate_cli check ${_tg_policies})
  add_test(NAME "cli: tollgate check reports file:line"
           COMMAND tollgate_cli check ${CMAKE_CURRENT_SOURCE_DIR}/data/broken_policy.lua)
  set_tests_properties("cli: tollgate check reports file:line" PROPERTIES
    WILL_FAIL FALSE
    PASS_REGULAR_EXPRESSION "broken_policy.lua:4: route 'code': try\\[2\\]: unknown model 'gpt-5o' \\(did you mean")
  add_test(NAME "cli: tollgate explain"
           COMMAND tollgate_cli explain --policy ${_tg}/policies/by_task.lua
                   --request ${_tg}/examples/requests/pii_code.json)
  set_tests_properties("cli: tollgate explain" PROPERTIES
    PASS_REGULAR_EXPRESSION "1\\. codestral-latest \\(mistral\\).*deepseek-chat +skipped: lacks required label 'pii_ok'")
  add_test(NAME "cli: tollgate explain --json"
           COMMAND tollgate_cli explain --json --policy ${_tg}/policies/by_size.lua
                   --request ${_tg}/examples/requests/long_document.json)
  set_tests_properties("cli: tollgate explain --json" PROPERTIES
    PASS_REGULAR_EXPRESSION "\"route\": \"long-context\"")
endif()

add_test(NAME "example: embed (add_subdirectory)" COMMAND embed_example ${_tg}/policies/by_task.lua)
set_tests_properties("example: embed (add_subdirectory)" PROPERTIES
  PASS_REGULAR_EXPRESSION "route code, first choice deepseek-chat")

# The installed package, consumed with find_package(tollgate) by a separate
# project, as another team would. Sanitizer builds are skipped: their
# archives need the sanitizer runtime in the consumer's link too.
if(TOLLGATE_SANITIZE STREQUAL "")
  add_test(NAME "example: embed (find_package against the install)"
           COMMAND ${CMAKE_COMMAND} -DBUILD_DIR=${PROJECT_BINARY_DIR} -DSOURCE_DIR=${_tg}
                   -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/install_test -P ${CMAKE_CURRENT_SOURCE_DIR}/install_test.cmake)
  set_tests_properties("example: embed (find_package against the install)" PROPERTIES
    PASS_REGULAR_EXPRESSION "route code, first choice deepseek-chat" TIMEOUT 600)
endif()
