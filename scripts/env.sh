# Source this to run fedsim under Open MPI here: one BLAS thread per rank,
# more ranks than cores allowed, and (only when you are root, as in
# containers and CI) Open MPI's consent to run as root.
export OPENBLAS_NUM_THREADS=1
export OMPI_MCA_rmaps_base_oversubscribe=1
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
