// Package chaos holds the hardening suite of issue 14 (SIGKILL-and-resume,
// full disks, hot reloads of broken checkpoints, hostile HTTP clients). Its
// tests are behind the "chaos" build tag: run test/chaos/run.sh. See
// docs/chaos.md.
package chaos
