package lambdarun

import "syscall"

// sysProcAttr asks the kernel to kill the function's process if the process
// running the emulator dies without closing it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
