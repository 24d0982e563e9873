// Preloaded (node --import) into every Corral server a test starts: the test holds this process's
// stdin open, and when the test process ends however it ends (a runner interrupted, a worker
// killed, a CI timeout), the pipe closes and the server exits instead of living on, orphaned,
// with its ports and data directory. Test-only: nothing in src/ reads stdin.
const leave = () => process.exit(70);
process.stdin.on('end', leave);
process.stdin.on('close', leave);
process.stdin.on('error', leave);
process.stdin.resume();
// Reading stdin must not by itself keep a server alive that is otherwise done.
process.stdin.unref?.();
