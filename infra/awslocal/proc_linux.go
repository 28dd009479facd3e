package awslocal

import (
	"os/exec"
	"syscall"
)

// sysProcAttr puts moto in its own process group, so that Stop reaches the
// Python process and anything it forks, and asks the kernel to kill it if
// the test binary dies without calling Stop.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

func terminate(cmd *exec.Cmd) { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }

func kill(cmd *exec.Cmd) { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
