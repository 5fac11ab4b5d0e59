// The few MPI calls GomalizingFlow uses, as functions: Open MPI's handles
// (MPI_COMM_WORLD, MPI_FLOAT, ...) are macros Swift cannot import.
#include <mpi.h>

static inline int gf_mpi_init(void) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (initialized) return MPI_SUCCESS;
    int provided = 0;
    return MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
}

static inline int gf_mpi_finalize(void) {
    int finalized = 0;
    MPI_Finalized(&finalized);
    return finalized ? MPI_SUCCESS : MPI_Finalize();
}

static inline int gf_mpi_rank(void) { int r = 0; MPI_Comm_rank(MPI_COMM_WORLD, &r); return r; }
static inline int gf_mpi_size(void) { int s = 1; MPI_Comm_size(MPI_COMM_WORLD, &s); return s; }
static inline void gf_mpi_abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }

static inline int gf_allreduce_sum_float(float *buf, int count) {
    return MPI_Allreduce(MPI_IN_PLACE, buf, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
}
static inline int gf_allreduce_sum_double(double *buf, int count) {
    return MPI_Allreduce(MPI_IN_PLACE, buf, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}
static inline int gf_allreduce_max_double(double *buf, int count) {
    return MPI_Allreduce(MPI_IN_PLACE, buf, count, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
}
static inline int gf_gather_float(const float *send, int count, float *recv, int root) {
    return MPI_Gather(send, count, MPI_FLOAT, recv, count, MPI_FLOAT, root, MPI_COMM_WORLD);
}
static inline int gf_gather_double(const double *send, int count, double *recv, int root) {
    return MPI_Gather(send, count, MPI_DOUBLE, recv, count, MPI_DOUBLE, root, MPI_COMM_WORLD);
}
