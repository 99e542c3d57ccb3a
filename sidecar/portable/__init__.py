"""What differs between Linux, macOS and Windows, in one place: the rest of the sidecar calls
these seams and never branches on the platform itself.

  files    open flags, pread, ownership checks, the write-behind hint
  durable  a flush that survives power loss (F_FULLFSYNC on macOS), directory fsync, SQLite
  lock     the data-dir lock (flock; msvcrt.locking on Windows)
  process  is a pid alive (never ``os.kill`` on Windows), stop signals, the event loop, ipc
"""
