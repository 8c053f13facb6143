# Installs the build into a scratch prefix, then builds examples/embed and
# examples/embed_asio (its Asio header-only, and compiled by the example
# itself) as separate projects against it with find_package(tollgate) and
# runs them.
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(rc)
  message(FATAL_ERROR "cmake --install failed")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/embed -B ${WORK_DIR}/build -G Ninja
                        -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_BUILD_TYPE=Release
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "configuring the example against the installed package failed")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "building the example against the installed package failed")
endif()
execute_process(COMMAND ${WORK_DIR}/build/embed_example ${SOURCE_DIR}/policies/by_task.lua RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "the example failed")
endif()

foreach(separate OFF ON)
  set(dir ${WORK_DIR}/build-asio-${separate})
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/embed_asio -B ${dir} -G Ninja
                          -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_BUILD_TYPE=Release
                          -DEMBED_ASIO_SEPARATE=${separate}
                  RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "configuring examples/embed_asio (EMBED_ASIO_SEPARATE=${separate}) against the install failed")
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} --build ${dir} RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "building examples/embed_asio (EMBED_ASIO_SEPARATE=${separate}) against the install failed: "
                        "tollgate's Asio clashes with the embedder's")
  endif()
  file(GLOB exe ${dir}/embed_asio*_example)
  execute_process(COMMAND ${exe} ${SOURCE_DIR}/policies/by_task.lua RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "examples/embed_asio (EMBED_ASIO_SEPARATE=${separate}) failed")
  endif()
endforeach()
