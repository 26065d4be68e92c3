/*
 * cmd_bench_main.c - tools/cmd_bench.c as a program of its own
 * (evlog-bench-cmd), so that `evlog bench` can run without the evlog tool.
 */
int cmd_bench(int argc, char **argv);

int main(int argc, char **argv)
{
    /* argv[0] stands for the subcommand's name, as `evlog bench` passes it */
    return cmd_bench(argc, argv);
}
