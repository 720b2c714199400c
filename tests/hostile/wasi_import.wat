;; Imports WASI's fd_write: refused at load (ForbiddenImport); the host offers no WASI.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (func (export "integritas_abi_version_1_0_0"))
  ;; bump allocator: every input goes to offset 65536
  (func (export "integritas_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "integritas_dealloc") (param i32 i32))
  (data (i32.const 1024) "{\"name\":\"hostile\",\"version\":\"0.0.1\"}")
  (func (export "integritas_info") (result i64) (i64.const 4398046511140))
  (func (export "integritas_entry_run") (param i32 i32) (result i64) (i64.const 0))
)
