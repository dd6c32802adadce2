/* The AF_UNIX collector's graph pass (see unix_gc_graph.h): candidates, the
 * references among them, then marking from the candidates something outside still
 * points at. */
#include "sentry/socket/unix_gc_graph.h"

void ugc_set_init(struct ugc_set *s)
{
    s->head.prev = s->head.next = &s->head;
    s->nodes = 0;
    s->refs = 0;
}

void ugc_inflight_add(struct ugc_set *s, struct ugc_node *n)
{
    s->refs++;
    if (n->inflight++ > 0)
        return;
    n->prev = s->head.prev;
    n->next = &s->head;
    s->head.prev->next = n;
    s->head.prev = n;
    s->nodes++;
}

void ugc_inflight_sub(struct ugc_set *s, struct ugc_node *n)
{
    s->refs--;
    if (--n->inflight > 0)
        return;
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n->next = NULL;
    s->nodes--;
}

/* count_internal: a candidate's queue holds child: one reference accounted for. */
static void count_internal(struct ugc_node *child, void *arg)
{
    (void)arg;
    if (child->candidate)
        child->internal++;
}

/* mark: a reachable node's queue holds child: so is it reachable. */
static void mark(struct ugc_node *child, void *arg)
{
    struct ugc_node **stack = arg;
    if (!child->candidate || child->reachable)
        return;
    child->reachable = 1;
    child->stack_next = *stack;
    *stack = child;
}

struct ugc_node *ugc_collect(struct ugc_set *s, const struct ugc_ops *ops, void *ctx)
{
    /* 1. candidates: nodes only messages refer to; every node's flags are reset so
     * children() may name any node of the set */
    struct ugc_node *cands = NULL, **tail = &cands;
    for (struct ugc_node *n = s->head.next; n != &s->head; n = n->next) {
        n->candidate = ops->total_refs(n, ctx) == n->inflight;
        n->reachable = 0;
        n->internal = 0;
        n->cand_next = NULL;
        n->stack_next = NULL;
        if (n->candidate) {
            *tail = n;
            tail = &n->cand_next;
        }
    }
    if (!cands)
        return NULL;
    /* 2. references from candidates' queues to candidates */
    for (struct ugc_node *c = cands; c; c = c->cand_next)
        ops->children(c, count_internal, NULL, ctx);
    /* 3. roots: candidates with a reference from elsewhere; then what they hold */
    struct ugc_node *stack = NULL;
    for (struct ugc_node *c = cands; c; c = c->cand_next) {
        if (c->inflight > c->internal) {
            c->reachable = 1;
            c->stack_next = stack;
            stack = c;
        }
    }
    while (stack) {
        struct ugc_node *n = stack;
        stack = n->stack_next;
        ops->children(n, mark, &stack, ctx);
    }
    /* 4. the unmarked candidates are garbage */
    struct ugc_node *garbage = NULL;
    tail = &garbage;
    for (struct ugc_node *c = cands, *next; c; c = next) {
        next = c->cand_next;
        c->cand_next = NULL;
        if (!c->reachable) {
            *tail = c;
            tail = &c->cand_next;
        }
    }
    for (struct ugc_node *n = s->head.next; n != &s->head; n = n->next)
        n->candidate = 0;
    return garbage;
}
