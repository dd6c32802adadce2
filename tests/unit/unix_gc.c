/* The AF_UNIX garbage collector: the graph pass (sentry/socket/unix_gc_graph.c) on
 * fake nodes (what is garbage, what a held queue or a message in transit keeps, long
 * chains without recursion), then real sockets of a fake task: thousands of cycles
 * made and closed leave no socket and no in-flight reference behind. */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/socket.h>

#include "sentry/kernel/task.h"
#include "sentry/socket/socket.h"
#include "sentry/socket/unix.h"
#include "sentry/socket/unix_gc_graph.h"
#include "sentry/socket/unix_priv.h"
#include "sentry/vfs/fdtable.h"
#include "sentry/vfs/file.h"

/* ---- the graph on fake nodes ---- */

struct fake {
    struct ugc_node n;
    long refs;                 /* all references: "fds" plus in-flight ones */
    int nkids, cap;
    struct fake **kids;        /* what this node's queue holds */
};

static struct ugc_set g_set;

static struct fake *fake_of(struct ugc_node *n)
{
    return (struct fake *)((char *)n - offsetof(struct fake, n));
}

static long fake_refs(struct ugc_node *n, void *ctx)
{
    (void)ctx;
    return fake_of(n)->refs;
}

static void fake_children(struct ugc_node *n, ugc_visit_fn visit, void *arg, void *ctx)
{
    (void)ctx;
    struct fake *f = fake_of(n);
    for (int i = 0; i < f->nkids; i++)
        visit(&f->kids[i]->n, arg);
}

static const struct ugc_ops g_fake_ops = { fake_refs, fake_children };

/* fakes: n nodes, each with one "fd" reference. */
static struct fake *fakes(int n)
{
    ugc_set_init(&g_set);
    struct fake *f = calloc((size_t)n, sizeof(*f));
    cr_assert(f);
    for (int i = 0; i < n; i++)
        f[i].refs = 1;
    return f;
}

/* put_in: a message holding child is queued on holder. */
static void put_in(struct fake *holder, struct fake *child)
{
    if (holder->nkids == holder->cap) {
        holder->cap = holder->cap ? holder->cap * 2 : 4;
        holder->kids = realloc(holder->kids, sizeof(*holder->kids) * (size_t)holder->cap);
        cr_assert(holder->kids);
    }
    holder->kids[holder->nkids++] = child;
    child->refs++;
    ugc_inflight_add(&g_set, &child->n);
}

static int count_garbage(void)
{
    int n = 0;
    for (struct ugc_node *g = ugc_collect(&g_set, &g_fake_ops, NULL); g; g = g->cand_next)
        n++;
    return n;
}

Test(unix_gc_graph, self_cycle_is_garbage_once_closed)
{
    struct fake *a = fakes(1);
    put_in(a, a);
    cr_assert_eq(count_garbage(), 0, "the fd still holds it");
    a->refs--;   /* close */
    struct ugc_node *g = ugc_collect(&g_set, &g_fake_ops, NULL);
    cr_assert_eq(g, &a->n);
    cr_assert_null(g->cand_next);
    cr_assert_eq(g_set.refs, 1);
}

Test(unix_gc_graph, held_queue_keeps_what_it_holds)
{
    struct fake *f = fakes(2);
    struct fake *holder = &f[0], *x = &f[1];
    put_in(x, x);
    put_in(holder, x);
    x->refs--;
    cr_assert_eq(count_garbage(), 0, "holder's queue is readable");
    holder->refs--;   /* nobody holds holder either: it is not in flight, so it is
                       * released by its close, not collected */
    cr_assert_eq(count_garbage(), 0);
}

Test(unix_gc_graph, cycle_and_what_hangs_off_it)
{
    struct fake *f = fakes(5);
    put_in(&f[0], &f[1]);
    put_in(&f[1], &f[0]);
    put_in(&f[0], &f[2]);   /* 2 and 3 hang off the cycle */
    put_in(&f[2], &f[3]);
    put_in(&f[4], &f[3]);   /* ... and 3 also sits in 4's queue, 4 still open */
    for (int i = 0; i < 4; i++)
        f[i].refs--;
    cr_assert_eq(count_garbage(), 3, "0, 1, 2; 3 is readable from 4");
    f[4].refs--;
    cr_assert_eq(count_garbage(), 3, "4 is not in flight: its own close frees it");
}

Test(unix_gc_graph, message_in_transit_is_a_root)
{
    struct fake *f = fakes(2);
    put_in(&f[0], &f[1]);
    put_in(&f[1], &f[0]);
    /* a third reference to 0, counted but in no queue yet (a sendmsg between
     * parsing and queueing) */
    f[0].refs++;
    ugc_inflight_add(&g_set, &f[0].n);
    f[0].refs--;
    f[1].refs--;
    cr_assert_eq(count_garbage(), 0);
    ugc_inflight_sub(&g_set, &f[0].n);   /* the message went away instead */
    f[0].refs--;
    cr_assert_eq(count_garbage(), 2);
}

Test(unix_gc_graph, two_cycles_one_held)
{
    struct fake *f = fakes(4);
    put_in(&f[0], &f[1]);
    put_in(&f[1], &f[0]);
    put_in(&f[2], &f[3]);
    put_in(&f[3], &f[2]);
    f[0].refs--;
    f[1].refs--;
    f[2].refs--;   /* 3 keeps its fd */
    struct ugc_node *g = ugc_collect(&g_set, &g_fake_ops, NULL);
    cr_assert(g && g->cand_next && !g->cand_next->cand_next);
    cr_assert(fake_of(g) < &f[2] && fake_of(g->cand_next) < &f[2]);
}

Test(unix_gc_graph, long_ring_without_recursion)
{
    enum { N = 200000 };
    struct fake *f = fakes(N);
    for (int i = 0; i < N; i++)
        put_in(&f[i], &f[(i + 1) % N]);
    for (int i = 0; i < N; i++)
        if (i != 7)
            f[i].refs--;
    cr_assert_eq(count_garbage(), 0, "one fd keeps the whole ring");
    f[7].refs--;
    cr_assert_eq(count_garbage(), N);
    cr_assert_eq(g_set.nodes, N);
}

/* ---- real sockets: nothing leaks ---- */

static struct thread_group g_tg = { .tgid = 1 };
static struct task g_t;

static void task_setup(void)
{
    g_t.tg = &g_tg;
    g_t.fds = fdtable_create();
    cr_assert(g_t.fds);
}

static void pair(int type, int fds[2])
{
    struct file *f[2];
    cr_assert_eq(socket_create(&g_t, AF_UNIX, type, 0, &f[0]), 0);
    cr_assert_eq(socket_create(&g_t, AF_UNIX, type, 0, &f[1]), 0);
    struct socket *s0 = socket_from_file(f[0]), *s1 = socket_from_file(f[1]);
    cr_assert_eq(s0->ops->socketpair(s0, s1, &g_t), 0);
    fds[0] = fdtable_install(g_t.fds, 0, f[0], 0);
    fds[1] = fdtable_install(g_t.fds, 0, f[1], 0);
    cr_assert(fds[0] >= 0 && fds[1] >= 0);
}

/* send_fd: one byte with fd passed, sent on socket s. */
static void send_fd(int s, int fd)
{
    char ctl[CMSG_SPACE(sizeof(int))];
    memset(ctl, 0, sizeof(ctl));
    struct cmsghdr *c = (struct cmsghdr *)ctl;
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(fd));
    char byte = 'x';
    struct uio u = uio_kernel(&byte, 1);
    struct sock_msg m = { .data = &u, .control = ctl, .controllen = sizeof(ctl) };
    m.blk.nonblock = 1;
    struct file *f = fdtable_get(g_t.fds, s);
    cr_assert(f);
    cr_assert_eq(socket_sendmsg(socket_from_file(f), &g_t, &m, 0), 1);
    file_put(f);
}

Test(unix_gc, cycles_leave_nothing_behind, .init = task_setup)
{
    long base = unix_sock_count();
    static const int types[] = { SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET };
    for (int i = 0; i < 3000; i++) {
        int a[2], b[2];
        pair(types[i % 3], a);
        pair(SOCK_STREAM, b);
        send_fd(a[1], a[0]);   /* a[0] inside its own queue */
        send_fd(a[0], a[1]);   /* a[1] too */
        send_fd(b[1], a[0]);   /* and inside b[0]'s queue */
        send_fd(a[1], b[0]);   /* b[0] inside a[0]'s: one big cycle */
        for (int k = 0; k < 2; k++) {
            fdtable_close(g_t.fds, a[k]);
            fdtable_close(g_t.fds, b[k]);
        }
    }
    cr_assert_eq(unix_sock_count(), base, "%ld sockets left", unix_sock_count() - base);
    cr_assert_eq(unix_gc_inflight_refs(), 0);
}

Test(unix_gc, held_socket_survives, .init = task_setup)
{
    long base = unix_sock_count();
    int h[2], x[2];
    pair(SOCK_STREAM, h);
    pair(SOCK_STREAM, x);
    send_fd(x[1], x[0]);
    send_fd(h[1], x[0]);
    fdtable_close(g_t.fds, x[0]);
    unix_gc();
    cr_assert_eq(unix_sock_count(), base + 4, "x[0] lives in h[0]'s queue");
    cr_assert_eq(unix_gc_inflight_refs(), 2);
    fdtable_close(g_t.fds, h[0]);   /* h[0] released: x[0] now only in its own queue */
    cr_assert_eq(unix_gc_inflight_refs(), 0, "x[0] collected");
    fdtable_close(g_t.fds, h[1]);
    fdtable_close(g_t.fds, x[1]);
    cr_assert_eq(unix_sock_count(), base);
    cr_assert_eq(unix_gc_inflight_refs(), 0);
}
