// Moved to harness/ so the benchmarks under perf/ (which never import test/) can start Prometheus too.
export * from '../../harness/prometheus.js';
