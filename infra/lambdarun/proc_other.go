//go:build !linux

package lambdarun

import "syscall"

// sysProcAttr returns the default attributes (Pdeathsig is Linux only).
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
