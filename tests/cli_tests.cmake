# ctest cases that run the tools and examples as a user would.
set(_tg ${PROJECT_SOURCE_DIR})
# _tg_cli_expect(NAME EXIT REGEX COMMAND...): COMMAND exits EXIT and its
# output (stdout and stderr) matches REGEX (no ';' in it). ctest's
# PASS_REGULAR_EXPRESSION alone would ignore the exit status.
function(_tg_cli_expect name exit_code regex)
  add_test(NAME "${name}"
           COMMAND ${CMAKE_COMMAND} -DEXPECT_EXIT=${exit_code} "-DEXPECT_OUTPUT=${regex}"
                   -P ${CMAKE_CURRENT_SOURCE_DIR}/cli_expect.cmake -- ${ARGN})
endfunction()
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

  # The command line (CLI11, tools/main.cpp): --help lists every command and
  # flag, --name=value works as --name value does, and a usage error names
  # what is wrong and exits 2, as scripts calling the tools expect.
  set(_tg_cli $<TARGET_FILE:tollgate_cli>)
  _tg_cli_expect("cli: tollgate --help lists the commands" 0
    "demo .*check .*explain .*test .*report .*serve .*simulate .*tollgate <command> --help"
    ${_tg_cli} --help)
  _tg_cli_expect("cli: tollgate with no command prints the commands and exits 2" 2
    "serve +an OpenAI-compatible gateway" ${_tg_cli})
  _tg_cli_expect("cli: tollgate serve --help lists its flags" 0
    "--policy P.*--keys KEYS.json.*--listen HOST:PORT=127\\.0\\.0\\.1:8080.*--upstream NAME=URL.*--threads N=2.*--busy-poll-us N=0.*--grace-ms N=10000.*--log-prompts.*KEYS\\.json: "
    ${_tg_cli} serve --help)
  _tg_cli_expect("cli: tollgate simulate -h explains the traffic file" 0
    "--traffic T\\.jsonl.*--baseline MODEL=gpt-4o.*T\\.jsonl: one request a line.*Not modelled"
    ${_tg_cli} simulate -h)
  _tg_cli_expect("cli: tollgate explain --policy=P --request=R" 0
    "1\\. codestral-latest \\(mistral\\)"
    ${_tg_cli} explain --policy=${_tg}/policies/by_task.lua --request=${_tg}/examples/requests/pii_code.json)
  _tg_cli_expect("cli: an unknown flag is a usage error" 2
    "tollgate check: The following argument was not expected: --bogus.*tollgate check --help"
    ${_tg_cli} check --bogus ${_tg}/policies/by_task.lua)
  _tg_cli_expect("cli: an unknown command is a usage error" 2 "tollgate: .*not expected: frobnicate" ${_tg_cli} frobnicate)
  _tg_cli_expect("cli: tollgate serve needs --keys" 2 "tollgate serve: --keys is required"
    ${_tg_cli} serve --policy ${_tg}/policies/by_task.lua)
  _tg_cli_expect("cli: tollgate serve checks --threads" 2 "--threads: Value 0 not in range 1 to 256"
    ${_tg_cli} serve --policy ${_tg}/policies/by_task.lua --keys k.json --threads 0)
  _tg_cli_expect("cli: tollgate serve checks --listen" 2 "--listen: wants HOST:PORT"
    ${_tg_cli} serve --policy ${_tg}/policies/by_task.lua --keys k.json --listen 127.0.0.1)
  _tg_cli_expect("cli: tollgate report needs --ledger" 2 "tollgate report: --ledger is required"
    ${_tg_cli} report --since 7d)
  _tg_cli_expect("cli: tollgate report checks --accept" 2 "--accept: wants a score from 0 to 1"
    ${_tg_cli} report --ledger l.db --accept 2)
  _tg_cli_expect("cli: tollgate report checks --format" 2 "--format: xml not in {csv,json,table}"
    ${_tg_cli} report --ledger l.db --format xml)
endif()
if(TARGET tollgate-mock)
  set(_tg_mock $<TARGET_FILE:tollgate-mock>)
  _tg_cli_expect("cli: tollgate-mock --help lists its flags and the SPEC keys" 0
    "--port N=8089.*--threads N=2.*--tls-cert PEM.*--default SPEC.*--script MODEL=SPEC.*latency_ms=N.*fault kinds.*rate_limit"
    ${_tg_mock} --help)
  _tg_cli_expect("cli: tollgate-mock: an unknown flag is a usage error" 2
    "tollgate-mock: The following argument was not expected: --bogus" ${_tg_mock} --bogus)
  _tg_cli_expect("cli: tollgate-mock checks --script" 2 "--script: mock script: unknown fault 'nope'"
    ${_tg_mock} --script gpt-4o=fault=nope)
endif()

add_test(NAME "example: embed (add_subdirectory)" COMMAND embed_example ${_tg}/policies/by_task.lua)
set_tests_properties("example: embed (add_subdirectory)" PROPERTIES
  PASS_REGULAR_EXPRESSION "route code, first choice deepseek-chat")
foreach(_tg_asio embed_asio_example embed_asio_separate_example)
  add_test(NAME "example: ${_tg_asio} (add_subdirectory)" COMMAND ${_tg_asio} ${_tg}/policies/by_task.lua)
  set_tests_properties("example: ${_tg_asio} (add_subdirectory)" PROPERTIES
    PASS_REGULAR_EXPRESSION "the service's timer fired; tollgate answered on its io_context: provider")
endforeach()

# The installed package, consumed with find_package(tollgate) by a separate
# project, as another team would. Sanitizer builds are skipped: their
# archives need the sanitizer runtime in the consumer's link too.
if(TOLLGATE_SANITIZE STREQUAL "")
  add_test(NAME "example: embed (find_package against the install)"
           COMMAND ${CMAKE_COMMAND} -DBUILD_DIR=${PROJECT_BINARY_DIR} -DSOURCE_DIR=${_tg}
                   -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/install_test -P ${CMAKE_CURRENT_SOURCE_DIR}/install_test.cmake)
  set_tests_properties("example: embed (find_package against the install)" PROPERTIES
    PASS_REGULAR_EXPRESSION "route code, first choice deepseek-chat"
    # The pass expression alone would hide a later step's failure.
    FAIL_REGULAR_EXPRESSION "CMake Error" TIMEOUT 600)
endif()
