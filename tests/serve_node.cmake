# `tollgate serve`: the C++ tests need the tools' serve and simulate pieces,
# and the official OpenAI client (npm) drives the gateway end to end.

# tools/ builds one executable; its simulate_* sources are compiled into
# tests_serve too, so the Catch2 tests reach them without a library. Serve's
# pieces come from tollgate_server.
if(TARGET tests_serve)
  file(GLOB _tg_serve_pieces CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tools/simulate_*.cpp)
  target_sources(tests_serve PRIVATE ${_tg_serve_pieces})
  target_link_libraries(tests_serve PRIVATE tollgate_dsl)
endif()

find_program(TOLLGATE_NODE node)
find_program(TOLLGATE_NPM npm)
# Not under TSan: the node peer exercises the gateway, whose threading the
# ASan and release runs cover; TSan runs the concurrency tests.
if(TOLLGATE_NODE AND TOLLGATE_NPM AND TARGET tollgate_cli AND TARGET tollgate-mock
   AND NOT TOLLGATE_SANITIZE STREQUAL "thread")
  add_test(NAME "serve: the openai npm client against tollgate serve"
           COMMAND ${CMAKE_COMMAND} -DNODE=${TOLLGATE_NODE} -DNPM=${TOLLGATE_NPM}
                   -DDIR=${CMAKE_CURRENT_SOURCE_DIR}/node -DSOURCE=${PROJECT_SOURCE_DIR}
                   -DTOLLGATE=$<TARGET_FILE:tollgate_cli> -DMOCK=$<TARGET_FILE:tollgate-mock>
                   -P ${CMAKE_CURRENT_SOURCE_DIR}/serve_node_run.cmake)
  set_tests_properties("serve: the openai npm client against tollgate serve" PROPERTIES TIMEOUT 600)
endif()
