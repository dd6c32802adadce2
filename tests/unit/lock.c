/* lock_range: the byte-range lock lists behind fcntl record locks. Splitting, merging
 * and conflicts case by case, then a randomized comparison against a per-byte model. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sentry/vfs/lock_range.h"

/* Two owners; only their addresses matter. */
static const char owner_a, owner_b;
#define A (&owner_a)
#define B (&owner_b)

static struct lock_rec req(const void *owner, int type, int64_t start, int64_t end)
{
    return (struct lock_rec){ .owner = owner, .type = type, .pid = owner == A ? 1 : 2,
                              .start = start, .end = end };
}

/* dump: the list as "A:W0-9 B:R10-EOF". */
static const char *dump(const struct lock_rec *l)
{
    static char buf[1024];
    size_t n = 0;
    buf[0] = 0;
    for (; l; l = l->next) {
        char end[32];
        if (l->end == LR_EOF)
            snprintf(end, sizeof(end), "EOF");
        else
            snprintf(end, sizeof(end), "%lld", (long long)l->end);
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s:%c%lld-%s", n ? " " : "",
                              l->owner == A ? "A" : "B", l->type == F_WRLCK ? 'W' : 'R',
                              (long long)l->start, end);
    }
    return buf;
}

static void apply(struct lock_rec **l, const void *owner, int type, int64_t s, int64_t e)
{
    struct lock_rec r = req(owner, type, s, e);
    cr_assert_eq(lr_apply(l, &r), 0);
}

Test(lock, insert_and_merge_same_type)
{
    struct lock_rec *l = NULL;
    apply(&l, A, F_WRLCK, 10, 19);
    cr_assert_str_eq(dump(l), "A:W10-19");
    apply(&l, A, F_WRLCK, 20, 29);          /* touching: merged */
    cr_assert_str_eq(dump(l), "A:W10-29");
    apply(&l, A, F_WRLCK, 0, 8);            /* a gap of one byte: separate */
    cr_assert_str_eq(dump(l), "A:W0-8 A:W10-29");
    apply(&l, A, F_WRLCK, 9, 9);            /* fills the gap: all one */
    cr_assert_str_eq(dump(l), "A:W0-29");
    apply(&l, A, F_WRLCK, 5, 15);           /* inside: nothing changes */
    cr_assert_str_eq(dump(l), "A:W0-29");
    lr_free_all(&l);
    cr_assert_null(l);
}

Test(lock, unlock_middle_splits)
{
    struct lock_rec *l = NULL;
    apply(&l, A, F_WRLCK, 0, LR_EOF);
    apply(&l, A, F_UNLCK, 100, 199);
    cr_assert_str_eq(dump(l), "A:W0-99 A:W200-EOF");
    apply(&l, A, F_UNLCK, 50, 250);
    cr_assert_str_eq(dump(l), "A:W0-49 A:W251-EOF");
    apply(&l, A, F_UNLCK, 0, LR_EOF);
    cr_assert_str_eq(dump(l), "");
}

Test(lock, downgrade_and_upgrade_parts)
{
    struct lock_rec *l = NULL;
    apply(&l, A, F_WRLCK, 0, 99);
    apply(&l, A, F_RDLCK, 10, 19);
    cr_assert_str_eq(dump(l), "A:W0-9 A:R10-19 A:W20-99");
    apply(&l, A, F_RDLCK, 20, 29);          /* touches the read lock: merged with it */
    cr_assert_str_eq(dump(l), "A:W0-9 A:R10-29 A:W30-99");
    apply(&l, A, F_WRLCK, 15, 24);          /* upgrade inside the read lock */
    cr_assert_str_eq(dump(l), "A:W0-9 A:R10-14 A:W15-24 A:R25-29 A:W30-99");
    apply(&l, A, F_WRLCK, 0, 99);           /* all write again: one record */
    cr_assert_str_eq(dump(l), "A:W0-99");
    lr_free_all(&l);
}

Test(lock, eof_edges)
{
    struct lock_rec *l = NULL;
    apply(&l, A, F_RDLCK, 5, LR_EOF);
    apply(&l, A, F_RDLCK, 0, 4);            /* start - 1 arithmetic, no overflow */
    cr_assert_str_eq(dump(l), "A:R0-EOF");
    apply(&l, A, F_WRLCK, LR_EOF, LR_EOF);  /* the last byte */
    cr_assert_str_eq(dump(l), "A:R0-9223372036854775806 A:W9223372036854775807-EOF");
    lr_free_all(&l);
}

Test(lock, owners_stay_grouped_in_first_lock_order)
{
    struct lock_rec *l = NULL;
    apply(&l, B, F_RDLCK, 50, 59);
    apply(&l, A, F_RDLCK, 0, 9);
    apply(&l, B, F_RDLCK, 0, 9);
    apply(&l, A, F_RDLCK, 100, 109);
    cr_assert_str_eq(dump(l), "B:R0-9 B:R50-59 A:R0-9 A:R100-109");
    cr_assert_eq(lr_remove_owner(&l, B), 2);
    cr_assert_str_eq(dump(l), "A:R0-9 A:R100-109");
    lr_free_all(&l);
}

Test(lock, conflicts)
{
    struct lock_rec *l = NULL;
    apply(&l, A, F_RDLCK, 0, 9);
    apply(&l, A, F_WRLCK, 20, 29);
    struct lock_rec r = req(B, F_RDLCK, 5, 15);
    cr_assert_null(lr_conflict(l, &r), "read locks share");
    r = req(B, F_WRLCK, 5, 15);
    const struct lock_rec *c = lr_conflict(l, &r);
    cr_assert_not_null(c);
    cr_assert_eq(c->start, 0);
    r = req(B, F_RDLCK, 10, LR_EOF);
    c = lr_conflict(l, &r);
    cr_assert(c && c->start == 20 && c->type == F_WRLCK);
    r = req(A, F_WRLCK, 0, LR_EOF);
    cr_assert_null(lr_conflict(l, &r), "an owner never conflicts with itself");
    r = req(B, F_WRLCK, 10, 19);
    cr_assert_null(lr_conflict(l, &r), "the gap is free");
    /* F_OFD_GETLK with F_UNLCK: the owner's own lock */
    r = req(A, F_UNLCK, 25, 25);
    c = lr_test(l, &r);
    cr_assert(c && c->start == 20);
    r = req(B, F_UNLCK, 0, LR_EOF);
    cr_assert_null(lr_test(l, &r));
    lr_free_all(&l);
}

/* ---- randomized: against a per-byte model ---- */

#define NBYTES 48          /* the model's bytes; the last stands for "to EOF" */

/* model[o][b]: owner o's lock type + 1 on byte b (0 none; F_RDLCK is 0). */
static int model[2][NBYTES];

/* check: the list is exactly each owner's maximal runs of one type, in start order,
 * owners grouped. */
static void check(const struct lock_rec *l)
{
    const void *owners[2] = { A, B };
    int seen[2] = { 0, 0 };
    const void *cur = NULL;
    const struct lock_rec *r = l;
    while (r) {
        int o = r->owner == A ? 0 : 1;
        cr_assert(!seen[o] || cur == r->owner, "owner records are grouped: %s", dump(l));
        seen[o] = 1;
        cur = r->owner;
        const struct lock_rec *group = r;
        for (int b = 0; b < NBYTES;) {
            if (!model[o][b]) {
                b++;
                continue;
            }
            int e = b;
            while (e + 1 < NBYTES && model[o][e + 1] == model[o][b])
                e++;
            int64_t end = e == NBYTES - 1 ? LR_EOF : e;
            cr_assert(r && r->owner == owners[o], "missing run %d-%d: %s", b, e, dump(l));
            cr_assert(r->start == b && r->end == end && r->type == model[o][b] - 1,
                      "run %d-%d type %d, got %s", b, e, model[o][b], dump(l));
            r = r->next;
            b = e + 1;
        }
        cr_assert(r != group, "a record the model lacks: %s", dump(l));
    }
    for (int o = 0; o < 2; o++) {
        if (seen[o])
            continue;
        for (int b = 0; b < NBYTES; b++)
            cr_assert_eq(model[o][b], 0, "owner %d lost its locks: %s", o, dump(l));
    }
}

Test(lock, random_against_model)
{
    struct lock_rec *l = NULL;
    memset(model, 0, sizeof(model));
    srand(12345);
    const int types[3] = { F_RDLCK, F_WRLCK, F_UNLCK };
    for (int i = 0; i < 20000; i++) {
        int o = rand() % 2;
        int type = types[rand() % 3];
        int s = rand() % NBYTES, e = s + rand() % (NBYTES - s);
        int64_t end = e == NBYTES - 1 ? LR_EOF : e;
        if (rand() % 8 == 0) {
            /* an owner closes the file */
            lr_remove_owner(&l, o ? B : A);
            memset(model[o], 0, sizeof(model[o]));
        } else {
            apply(&l, o ? B : A, type, s, end);
            for (int b = s; b <= e; b++)
                model[o][b] = type == F_UNLCK ? 0 : type + 1;
        }
        check(l);
    }
    lr_free_all(&l);
}
