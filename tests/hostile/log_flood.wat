;; Calls the one allowed import, integritas.log, a million times, then answers: the log is capped per call and the answer arrives.
(module
  (import "integritas" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 2)
  (func (export "integritas_abi_version_1_0_0"))
  ;; bump allocator: every input goes to offset 65536
  (func (export "integritas_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "integritas_dealloc") (param i32 i32))
  (data (i32.const 1024) "{\"name\":\"hostile\",\"version\":\"0.0.1\"}")
  (func (export "integritas_info") (result i64) (i64.const 4398046511140))
  (data (i32.const 2048) "{\"ok\":\"still here\"}")
  (func (export "integritas_entry_run") (param i32 i32) (result i64)
    (local $i i32)
    (loop $again
      (call $log (i32.const 3) (i32.const 1024) (i32.const 8))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const 1000000))))
    (i64.const 8796093022227))
)
