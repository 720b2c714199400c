;; An entry that grows memory without end: must stop at the memory cap (OutOfMemory).
(module
  (memory (export "memory") 2)
  (func (export "integritas_abi_version_1_0_0"))
  ;; bump allocator: every input goes to offset 65536
  (func (export "integritas_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "integritas_dealloc") (param i32 i32))
  (data (i32.const 1024) "{\"name\":\"hostile\",\"version\":\"0.0.1\"}")
  (func (export "integritas_info") (result i64) (i64.const 4398046511140))
  (func (export "integritas_entry_run") (param i32 i32) (result i64)
    (loop $more
      (drop (memory.grow (i32.const 16)))
      (br $more))
    (i64.const 0))
)
