// Preloaded (node --import) into every Corral server a test starts (test/support/corral-process.ts)
// and every member scripts/cluster.ts starts: the parent holds this process's stdin open, and when
// the parent ends however it ends (a runner interrupted, a worker killed, a CI timeout, a SIGKILLed
// script), the pipe closes and the server exits instead of living on, orphaned, with its ports and
// data directory. Development and tests only: nothing in src/ reads stdin.
const leave = () => process.exit(70);
process.stdin.on('end', leave);
process.stdin.on('close', leave);
process.stdin.on('error', leave);
process.stdin.resume();
// Reading stdin must not by itself keep a server alive that is otherwise done.
process.stdin.unref?.();
