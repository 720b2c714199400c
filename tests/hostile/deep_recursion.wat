;; Unbounded recursion: must hit the bounded wasm stack (Trap: stack overflow).
(module
  (memory (export "memory") 2)
  (func (export "integritas_abi_version_1_0_0"))
  ;; bump allocator: every input goes to offset 65536
  (func (export "integritas_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "integritas_dealloc") (param i32 i32))
  (data (i32.const 1024) "{\"name\":\"hostile\",\"version\":\"0.0.1\"}")
  (func (export "integritas_info") (result i64) (i64.const 4398046511140))
  (func $down (param i32) (result i32)
    (call $down (i32.add (local.get 0) (i32.const 1))))
  (func (export "integritas_entry_run") (param i32 i32) (result i64)
    (i64.extend_i32_u (call $down (i32.const 0))))
)
