// Preloaded into a real CLI process by process-stop.test.ts (node --expose-gc --import): a full garbage
// collection every 50 ms, so state that is only weakly held (as AbortSignal.timeout inside AbortSignal.any
// is in Node 20) is collected before it is due, every run, instead of only under memory pressure.
setInterval(() => globalThis.gc?.(), 50).unref();
