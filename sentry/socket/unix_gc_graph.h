/* The graph half of the AF_UNIX garbage collector (unix_gc.c is the socket half):
 * which in-flight objects no process can reach any more. Pure: no locks, no
 * sockets, so it is unit-tested on fake nodes (tests/unit/unix_gc.c).
 *
 * The model, after Linux's net/unix/garbage.c: a node is an object (a unix socket's
 * file) that may be referenced from inside messages queued on nodes (SCM_RIGHTS).
 * inflight counts those references. A node whose every reference is in flight
 * (total == inflight) is a candidate: only messages hold it. A candidate is still
 * reachable if some of its in-flight references are not in candidates' queues (a
 * queue some process can read, or a message on its way in or out), or if a
 * reachable candidate's queue holds it. The candidates left are garbage: cycles of
 * sockets inside each other's queues (a socket inside its own queue is the smallest)
 * and whatever hangs off them.
 *
 * Callers keep the in-flight set with ugc_inflight_add/sub and run ugc_collect with
 * the set frozen (no add/sub meanwhile: the caller's lock); children() must report
 * the references in queues as they are, and may see messages come and go on
 * candidates' queues: a child seen only by the marking pass is only kept, never
 * freed wrongly. The caller guarantees that a candidate cannot gain a reference
 * while the pass runs (nothing can read from a queue nobody holds). */
#ifndef SENTRY_SOCKET_UNIX_GC_GRAPH_H
#define SENTRY_SOCKET_UNIX_GC_GRAPH_H

#include <stddef.h>

struct ugc_node {
    struct ugc_node *prev, *next;     /* in the set while inflight > 0 */
    long inflight;                    /* references inside queued messages */
    /* one pass's scratch */
    long internal;                    /* of those, in candidates' queues */
    unsigned char candidate, reachable;
    struct ugc_node *cand_next;       /* the pass's candidates; then the garbage */
    struct ugc_node *stack_next;      /* the marking work list */
};

/* The set of in-flight nodes (a circular list with a sentinel). */
struct ugc_set {
    struct ugc_node head;
    long nodes;                       /* nodes with inflight > 0 */
    long refs;                        /* sum of inflight: Linux's unix_tot_inflight */
};

typedef void (*ugc_visit_fn)(struct ugc_node *child, void *arg);

struct ugc_ops {
    /* total_refs: every reference to n's object (in-flight ones included) */
    long (*total_refs)(struct ugc_node *n, void *ctx);
    /* children: calls visit once per in-flight reference held by messages queued on
     * n (for a listener, also on its not yet accepted connections), with the node
     * referenced */
    void (*children)(struct ugc_node *n, ugc_visit_fn visit, void *arg, void *ctx);
};

void ugc_set_init(struct ugc_set *s);
/* ugc_inflight_add/sub: one more or one less reference to n inside a queued message;
 * n joins the set at its first and leaves at its last. */
void ugc_inflight_add(struct ugc_set *s, struct ugc_node *n);
void ugc_inflight_sub(struct ugc_set *s, struct ugc_node *n);

/* ugc_collect: one pass: the garbage nodes, linked by cand_next (NULL: none). They
 * stay in the set; freeing what their queues hold takes them out. O(nodes + refs
 * visited), no allocation, no recursion. */
struct ugc_node *ugc_collect(struct ugc_set *s, const struct ugc_ops *ops, void *ctx);

#endif
