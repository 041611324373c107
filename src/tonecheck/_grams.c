/* The trained detector's hot path in C: known n-grams of a sentence, and its weight sums.
 *
 * Optional: tonecheck.model.detector falls back to the same computation in Python when this
 * extension is not built (no compiler at install time), and the tests check that both give the
 * same feature ids and bit-identical sums.
 *
 * Table(words, plain, neg, t, d, x): every known plain n-gram (1 to 4 characters) with its
 *   feature id and the ids of its prefixed twins (N| negated, T| to a third party, D| after
 *   distress, X| in a dispute; -1 when the model has none).
 * Table.set_cues(words, classes, n_classes, single, pair): the cue words (up to MAX_CUE
 *   characters) with their class, and the ids of the K:class and K:a&b tokens.
 * Table.set_language(runs, fillers, stops, negators, breaks, reach): features.py's filler,
 *   negator and clause-break lists, so canonical() and the negation scopes read the same data.
 * Table.canonical(text) -> str: features.canonical(text).
 * Table.grams(text, negation, prefixes, extra, cues=False) -> bytes: the ascending, distinct
 *   int64 feature ids of every known n-gram of `text` (the "^sentence$" string), with
 *   `negation` the N| twins of 2- and 3-grams starting in the scope of a negator
 *   (features.negated_starts), the T|/D|/X| twins of
 *   2- and 3-grams whose bit (1, 2, 4) is set in `prefixes`, the ids in `extra` and, with
 *   `cues`, the cue tokens of the classes whose words occur in `text`.
 * weight_sum(W, ids, bias=None, slope=None, intercept=None, *, cols=None) -> bytes: float32 sums
 *   of the first `cols` columns (all by default) of the rows `ids` of the C-contiguous float32
 *   or float16 matrix W (float16 converted exactly; its rows may be padded), row after row in
 *   the order given (numpy's W[ids].astype(float32).sum(axis=0), bit for bit); with bias, slope
 *   and intercept, a list of the calibrated probabilities:
 *   float32(1 / (1 + exp(-clip(slope * (sum + bias) + intercept, -50, 50)))), the sigmoid in
 *   double precision.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include "_native.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#define MAX_N 4

/* The n-gram table is several MB and is probed at random: on 4 kB pages nearly every probe
 * also misses the TLB. Where Linux allows it, the big arrays live in their own mapping,
 * advised to use huge pages (a plain zeroed allocation elsewhere, or when that fails). */
typedef struct {
    void *p;
    size_t size;  /* > 0: an mmap of this size; 0: PyMem */
} Big;

static void *big_calloc(Big *b, size_t n, size_t each)
{
    size_t size = (n ? n : 1) * each;
    b->size = 0;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (size >= ((size_t)1 << 21)) {
        void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p != MAP_FAILED) {
            madvise(p, size, MADV_HUGEPAGE);  /* advice only: without it the pages are small */
            b->p = p;
            b->size = size;
            return p;
        }
    }
#endif
    b->p = PyMem_Calloc(n ? n : 1, each);
    return b->p;
}

static void big_free(Big *b)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (b->size > 0) {
        munmap(b->p, b->size);
        b->p = NULL;
        b->size = 0;
        return;
    }
#endif
    PyMem_Free(b->p);
    b->p = NULL;
}

/* One known n-gram in the open-addressed table, all in one place so that a probe reads one
 * cache line: its key (the code of each character, CODE_BITS apiece, and its length), its plain
 * id and where its twins are. */
typedef struct {
    uint64_t key;   /* 0: an empty slot (a key is never 0: codes start at 1) */
    int32_t id;     /* the plain feature id, -1: the n-gram has twins only */
    int32_t twins;  /* index of its four twin ids (N|, T|, D|, X|) in twin_ids, -1: none */
} Slot;

/* The characters of the known n-grams are numbered densely from 1 (a few thousand in a model
 * trained on Chinese); a character without a number starts and ends no known n-gram, so the
 * n-grams through it are never looked up. */
#define CODE_BITS 15
#define MAX_CODES ((1 << CODE_BITS) - 1)

#define MAX_CUE 8      /* longest cue word */
#define MAX_CLASSES 64 /* cue classes: one bit each */
#define MAX_OUTPUTS 64 /* the model's outputs (columns) that score() sums */
#define CUE_BUCKETS 16384

static unsigned cue_bucket(Py_UCS4 a, Py_UCS4 b)
{
    return (((uint32_t)a * 0x9E3779B1u) ^ ((uint32_t)b * 0x85EBCA77u)) >> 18;  /* 14 bits */
}

/* a list of short strings, in order: word k is chars[at[k] .. at[k + 1]) */
typedef struct {
    Py_UCS4 *chars;
    Py_ssize_t *at;
    Py_ssize_t n;
} Words;

static void words_free(Words *w)
{
    PyMem_Free(w->chars);
    PyMem_Free(w->at);
    w->chars = NULL; w->at = NULL; w->n = 0;
}

/* a sequence of str (a str is a sequence of one-character strings) into `w` */
static int words_read(PyObject *seq, Words *w, const char *name)
{
    PyObject *fast = PySequence_Fast(seq, name);
    if (fast == NULL)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast), total = 0;
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *x = PySequence_Fast_GET_ITEM(fast, k);
        if (!PyUnicode_Check(x) || PyUnicode_GET_LENGTH(x) == 0) {
            Py_DECREF(fast);
            PyErr_Format(PyExc_ValueError, "%s: item %zd is not a non-empty str", name, k);
            return -1;
        }
        total += PyUnicode_GET_LENGTH(x);
    }
    Words out = {PyMem_Malloc((size_t)(total ? total : 1) * sizeof(Py_UCS4)),
                 PyMem_Malloc((size_t)(n + 1) * sizeof(Py_ssize_t)), n};
    if (out.chars == NULL || out.at == NULL) {
        words_free(&out);
        Py_DECREF(fast);
        PyErr_NoMemory();
        return -1;
    }
    out.at[0] = 0;
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *x = PySequence_Fast_GET_ITEM(fast, k);
        Py_ssize_t len = PyUnicode_GET_LENGTH(x);
        for (Py_ssize_t j = 0; j < len; j++)
            out.chars[out.at[k] + j] = PyUnicode_READ_CHAR(x, j);
        out.at[k + 1] = out.at[k] + len;
    }
    Py_DECREF(fast);
    words_free(w);
    *w = out;
    return 0;
}

/* the length of word k if it stands in the text at i, else 0 */
static Py_ssize_t word_at(const Words *w, Py_ssize_t k, int kind, const void *d, Py_ssize_t n, Py_ssize_t i)
{
    Py_ssize_t len = w->at[k + 1] - w->at[k];
    if (i + len > n)
        return 0;
    for (Py_ssize_t j = 0; j < len; j++)
        if ((Py_UCS4)PyUnicode_READ(kind, d, i + j) != w->chars[w->at[k] + j])
            return 0;
    return len;
}

static int words_have_char(const Words *w, Py_UCS4 c)
{
    for (Py_ssize_t k = 0; k < w->n; k++)
        if (w->at[k + 1] - w->at[k] == 1 && w->chars[w->at[k]] == c)
            return 1;
    return 0;
}

typedef struct {
    uint64_t k[3];    /* the word: code points packed 21 bits each, length in the top bits of k[2] */
    uint64_t classes; /* the cue classes it belongs to */
} CueEntry;

typedef struct {
    PyObject_HEAD
    Slot *slots;
    Big slots_mem;
    uint64_t mask;
    int32_t *twin_ids;    /* 4 per n-gram with twins: N|, T|, D|, X| (-1: none) */
    uint16_t *code16;     /* the code of every character below U+10000 (0: none) */
    Py_UCS4 *astral;      /* the characters above U+FFFF with a code, ascending ... */
    uint16_t *astral_code; /* ... and their codes */
    Py_ssize_t n_astral;
    Py_UCS4 *chars;       /* the character of every code */
    Py_ssize_t count;
    /* cue words (optional): a small table of their own, and the ids of the class tokens */
    CueEntry *cues;
    uint64_t *cue_slots;
    uint64_t cue_mask;
    int cue_max;      /* longest cue word, 0 = no cues */
    int n_classes;
    int32_t *single;  /* n_classes ids of K:class (-1: unknown to the model) */
    int32_t *pair;    /* n_classes * n_classes ids of K:a&b for a < b (-1: unknown) */
    uint8_t *cue_lengths; /* CUE_BUCKETS buckets of first-two-character pairs (cue_bucket): bit
                             k-1 set when a cue word of length k starts with a pair of the bucket
                             (a one-character word with the pair (c, 0)); small enough to stay in
                             the cache, so most positions need no probe at all */
    /* the language of canonical() and the negation scopes (set_language): features.py's lists */
    Words runs, fillers, stops, negators, breaks;
    uint64_t neg_first[1024];  /* bit c & 0xffff: some negator may start with c */
    uint64_t is_break[1024];   /* bit c & 0xffff: c may be a clause break */
    uint64_t stop_bits[1024];  /* bit c & 0xffff: c may be a filler stop */
    uint64_t filler_first[1024]; /* bit c & 0xffff: a filler (run or word) may start with c */
    Py_ssize_t reach;
    int has_language;
    int64_t *scratch;  /* grams()' working memory (scratch()) */
    Py_ssize_t scratch_cap;
    /* the weights (set_weights): a float16 matrix with rows padded, held while the table lives */
    Py_buffer weights;
    int has_weights;
    uint8_t *shows;   /* one bit per weight row: a text n-gram of two characters or more */
    uint64_t *id_bits;    /* one bit per weight row, and one per 64 rows (id_summary): all zero */
    uint64_t *id_summary; /* between calls; sorted_distinct() uses them to order the ids */
    Py_ssize_t n_outputs;
    float bias[MAX_OUTPUTS], slope[MAX_OUTPUTS], icpt[MAX_OUTPUTS];
    float gate[MAX_OUTPUTS];  /* score()'s "fired" bit j: probability j >= gate[j] (inf: never) */
} Table;

static uint64_t mix(uint64_t x)
{
    x ^= x >> 30; x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27; x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static void pack_long(int kind, const void *data, Py_ssize_t i, int n, uint64_t k[3])
{
    uint64_t c[MAX_CUE] = {0};
    for (int j = 0; j < n; j++)
        c[j] = (uint64_t)PyUnicode_READ(kind, data, i + j);
    k[0] = c[0] | (c[1] << 21) | (c[2] << 42);
    k[1] = c[3] | (c[4] << 21) | (c[5] << 42);
    k[2] = c[6] | (c[7] << 21) | ((uint64_t)n << 42);
}

static uint64_t hash_cue(const uint64_t k[3]) { return mix(k[0] ^ mix(k[1] ^ mix(k[2] + 0x9e3779b97f4a7c15ULL))); }

static const CueEntry *find_cue(const Table *t, const uint64_t k[3])
{
    uint64_t h = hash_cue(k);
    for (uint64_t s = h & t->cue_mask;; s = (s + 1) & t->cue_mask) {
        uint64_t slot = t->cue_slots[s];
        if (slot == 0)
            return NULL;
        const CueEntry *e = &t->cues[slot - 1];
        if (e->k[0] == k[0] && e->k[1] == k[1] && e->k[2] == k[2])
            return e;
    }
}

/* the code of character c (0: no known n-gram holds it) */
static uint32_t code_of(const Table *t, Py_UCS4 c)
{
    if (c < 0x10000)
        return t->code16[c];
    Py_ssize_t lo = 0, hi = t->n_astral;
    while (lo < hi) {
        Py_ssize_t mid = (lo + hi) / 2;
        if (t->astral[mid] < c)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < t->n_astral && t->astral[lo] == c ? t->astral_code[lo] : 0;
}

static int cmp_ucs4(const void *a, const void *b)
{
    Py_UCS4 x = *(const Py_UCS4 *)a, y = *(const Py_UCS4 *)b;
    return (x > y) - (x < y);
}

static void free_table(Table *self)
{
    big_free(&self->slots_mem);
    PyMem_Free(self->twin_ids); PyMem_Free(self->code16); PyMem_Free(self->astral); PyMem_Free(self->astral_code);
    PyMem_Free(self->chars);
    self->slots = NULL; self->twin_ids = NULL; self->code16 = NULL; self->astral = NULL; self->astral_code = NULL;
    self->chars = NULL;
    self->n_astral = 0;
}

/* n ids from a sequence into out[0], out[stride], ... (-1 allowed: "none") */
static int read_int32s(PyObject *seq, Py_ssize_t n, int32_t *out, Py_ssize_t stride, const char *name)
{
    PyObject *fast = PySequence_Fast(seq, name);
    if (fast == NULL)
        return -1;
    if (PySequence_Fast_GET_SIZE(fast) != n) {
        PyErr_Format(PyExc_ValueError, "%s: %zd values, expected %zd", name, PySequence_Fast_GET_SIZE(fast), n);
        Py_DECREF(fast);
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        long v = PyLong_AsLong(PySequence_Fast_GET_ITEM(fast, i));
        if (v == -1 && PyErr_Occurred()) { Py_DECREF(fast); return -1; }
        if (v < -1 || v > INT32_MAX) {
            PyErr_Format(PyExc_ValueError, "%s: %ld out of range", name, v);
            Py_DECREF(fast);
            return -1;
        }
        out[i * stride] = (int32_t)v;
    }
    Py_DECREF(fast);
    return 0;
}

static int Table_init(Table *self, PyObject *args, PyObject *kwds)
{
    PyObject *words, *cols[5];
    if (!PyArg_ParseTuple(args, "OOOOOO", &words, &cols[0], &cols[1], &cols[2], &cols[3], &cols[4]))
        return -1;
    PyObject *fast = PySequence_Fast(words, "words must be a sequence");
    if (fast == NULL)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    if (n >= (Py_ssize_t)INT32_MAX / 4) { Py_DECREF(fast); PyErr_SetString(PyExc_ValueError, "too many words"); return -1; }
    PyObject **items = PySequence_Fast_ITEMS(fast);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!PyUnicode_Check(items[i]) || PyUnicode_GET_LENGTH(items[i]) < 1 || PyUnicode_GET_LENGTH(items[i]) > MAX_N) {
            Py_DECREF(fast);
            PyErr_Format(PyExc_ValueError, "word %zd is not a string of 1 to %d characters", i, MAX_N);
            return -1;
        }
    }
    uint64_t cap = 16;
    while (cap < (uint64_t)n * 2 + 1)
        cap <<= 1;
    Table t = {0};  /* the new tables, moved into self when complete */
    int32_t *vals = PyMem_Calloc((size_t)(n ? n : 1) * 5, sizeof(int32_t));
    t.slots = big_calloc(&t.slots_mem, cap, sizeof(Slot));
    t.code16 = PyMem_Calloc(0x10000, sizeof(uint16_t));
    Py_ssize_t n_twins = 0, astral_cap = 16;
    t.astral = PyMem_Malloc((size_t)astral_cap * sizeof(Py_UCS4));
    if (!vals || !t.slots || !t.code16 || !t.astral) {
        PyErr_NoMemory();
        goto fail;
    }
    static const char *names[5] = {"plain ids", "N| ids", "T| ids", "D| ids", "X| ids"};
    for (int c = 0; c < 5; c++)
        if (read_int32s(cols[c], n, vals + c, 5, names[c]) < 0)
            goto fail;
    /* 1. number the characters: those below U+10000 as met, then the others in order */
    uint32_t codes = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *w = items[i];
        for (Py_ssize_t j = 0; j < PyUnicode_GET_LENGTH(w); j++) {
            Py_UCS4 c = PyUnicode_READ_CHAR(w, j);
            if (c < 0x10000) {
                if (t.code16[c] == 0) {
                    if (codes == MAX_CODES) {
                        PyErr_Format(PyExc_ValueError, "the words use more than %d distinct characters", MAX_CODES);
                        goto fail;
                    }
                    t.code16[c] = (uint16_t)++codes;
                }
                continue;
            }
            Py_ssize_t k = 0;
            while (k < t.n_astral && t.astral[k] != c)
                k++;  /* a linear search: a model knows few characters above U+FFFF */
            if (k < t.n_astral)
                continue;
            if (t.n_astral == astral_cap) {
                Py_UCS4 *more = PyMem_Realloc(t.astral, (size_t)(astral_cap *= 2) * sizeof(Py_UCS4));
                if (more == NULL) { PyErr_NoMemory(); goto fail; }
                t.astral = more;
            }
            t.astral[t.n_astral++] = c;
        }
    }
    qsort(t.astral, (size_t)t.n_astral, sizeof(Py_UCS4), cmp_ucs4);
    t.astral_code = PyMem_Malloc((size_t)(t.n_astral ? t.n_astral : 1) * sizeof(uint16_t));
    if (t.astral_code == NULL) { PyErr_NoMemory(); goto fail; }
    for (Py_ssize_t k = 0; k < t.n_astral; k++) {
        if (codes == MAX_CODES) {
            PyErr_Format(PyExc_ValueError, "the words use more than %d distinct characters", MAX_CODES);
            goto fail;
        }
        t.astral_code[k] = (uint16_t)++codes;
    }
    t.chars = PyMem_Calloc((size_t)codes + 1, sizeof(Py_UCS4));
    if (t.chars == NULL) { PyErr_NoMemory(); goto fail; }
    for (Py_UCS4 c = 0; c < 0x10000; c++)
        t.chars[t.code16[c]] = c;
    for (Py_ssize_t k = 0; k < t.n_astral; k++)
        t.chars[t.astral_code[k]] = t.astral[k];
    t.chars[0] = 0;
    /* 2. the twins' ids, four per n-gram that has any */
    for (Py_ssize_t i = 0; i < n; i++)
        n_twins += vals[i * 5 + 1] >= 0 || vals[i * 5 + 2] >= 0 || vals[i * 5 + 3] >= 0 || vals[i * 5 + 4] >= 0;
    t.twin_ids = PyMem_Malloc((size_t)(n_twins ? n_twins : 1) * 4 * sizeof(int32_t));
    if (t.twin_ids == NULL) { PyErr_NoMemory(); goto fail; }
    /* 3. the slots */
    Py_ssize_t used = 0, twins_used = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *w = items[i];
        Py_ssize_t len = PyUnicode_GET_LENGTH(w);
        uint64_t key = (uint64_t)(len - 1) << 60;
        for (Py_ssize_t j = 0; j < len; j++)
            key |= (uint64_t)code_of(&t, PyUnicode_READ_CHAR(w, j)) << (CODE_BITS * j);
        uint64_t s = mix(key) & (cap - 1);
        while (t.slots[s].key != 0 && t.slots[s].key != key)
            s = (s + 1) & (cap - 1);
        if (t.slots[s].key == key)
            continue;  /* a repeated word keeps its first ids (callers pass distinct words) */
        const int32_t *v = &vals[i * 5];
        t.slots[s].key = key;
        t.slots[s].id = v[0];
        t.slots[s].twins = -1;
        if (v[1] >= 0 || v[2] >= 0 || v[3] >= 0 || v[4] >= 0) {
            memcpy(&t.twin_ids[4 * twins_used], &v[1], 4 * sizeof(int32_t));
            t.slots[s].twins = (int32_t)twins_used++;
        }
        used++;
    }
    Py_DECREF(fast);
    PyMem_Free(vals);
    free_table(self);
    self->slots = t.slots; self->slots_mem = t.slots_mem; self->twin_ids = t.twin_ids; self->code16 = t.code16;
    self->astral = t.astral; self->astral_code = t.astral_code; self->n_astral = t.n_astral; self->chars = t.chars;
    self->mask = cap - 1;
    self->count = used;
    return 0;
fail:
    Py_DECREF(fast);
    PyMem_Free(vals);
    free_table(&t);
    return -1;
}

static void free_cues(Table *self)
{
    PyMem_Free(self->cues); PyMem_Free(self->cue_slots); PyMem_Free(self->single); PyMem_Free(self->pair);
    PyMem_Free(self->cue_lengths);
    self->cues = NULL; self->cue_slots = NULL; self->single = NULL; self->pair = NULL; self->cue_lengths = NULL;
    self->cue_max = 0; self->n_classes = 0;
}

/* set_cues(words, classes, single, pair): cue words (1 to MAX_CUE characters) with the index of
 * their class (classes numbered in name order), the ids of the K:class tokens and of the
 * K:a&b tokens (row a, column b, a < b). */
static PyObject *Table_set_cues(Table *self, PyObject *args)
{
    PyObject *words, *classes, *single, *pair;
    int n_classes;
    if (!PyArg_ParseTuple(args, "OOiOO", &words, &classes, &n_classes, &single, &pair))
        return NULL;
    if (n_classes < 0 || n_classes > MAX_CLASSES) {
        PyErr_Format(PyExc_ValueError, "at most %d cue classes", MAX_CLASSES);
        return NULL;
    }
    PyObject *wf = PySequence_Fast(words, "words must be a sequence");
    if (wf == NULL)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(wf);
    uint64_t cap = 16;
    while (cap < (uint64_t)n * 2 + 1)
        cap <<= 1;
    int32_t *cls = PyMem_Calloc((size_t)(n ? n : 1), sizeof(int32_t));
    CueEntry *cues = PyMem_Calloc((size_t)(n ? n : 1), sizeof(CueEntry));
    uint64_t *slots = PyMem_Calloc(cap, sizeof(uint64_t));
    int32_t *sg = PyMem_Calloc((size_t)(n_classes ? n_classes : 1), sizeof(int32_t));
    int32_t *pr = PyMem_Calloc((size_t)(n_classes ? n_classes * n_classes : 1), sizeof(int32_t));
    uint8_t *first = PyMem_Calloc(CUE_BUCKETS, 1);
    int cue_max = 0;
    Py_ssize_t used = 0;
    if (!cls || !cues || !slots || !sg || !pr || !first) {
        PyErr_NoMemory();
        goto fail;
    }
    if (read_int32s(classes, n, cls, 1, "classes") < 0 || read_int32s(single, n_classes, sg, 1, "single") < 0
            || read_int32s(pair, (Py_ssize_t)n_classes * n_classes, pr, 1, "pair") < 0)
        goto fail;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *w = PySequence_Fast_GET_ITEM(wf, i);
        if (!PyUnicode_Check(w) || PyUnicode_GET_LENGTH(w) < 1 || PyUnicode_GET_LENGTH(w) > MAX_CUE) {
            PyErr_Format(PyExc_ValueError, "cue word %zd is not a string of 1 to %d characters", i, MAX_CUE);
            goto fail;
        }
        if (cls[i] < 0 || cls[i] >= n_classes) {
            PyErr_Format(PyExc_ValueError, "cue word %zd: class %d out of range", i, (int)cls[i]);
            goto fail;
        }
        int len = (int)PyUnicode_GET_LENGTH(w);
        uint64_t k[3];
        pack_long(PyUnicode_KIND(w), PyUnicode_DATA(w), 0, len, k);
        uint64_t s = hash_cue(k) & (cap - 1);
        while (slots[s] != 0) {
            CueEntry *o = &cues[slots[s] - 1];
            if (o->k[0] == k[0] && o->k[1] == k[1] && o->k[2] == k[2])
                break;
            s = (s + 1) & (cap - 1);
        }
        if (slots[s] == 0) {
            memcpy(cues[used].k, k, sizeof k);
            slots[s] = (uint64_t)(++used);
        }
        cues[slots[s] - 1].classes |= (uint64_t)1 << cls[i];
        first[cue_bucket(PyUnicode_READ_CHAR(w, 0), len > 1 ? PyUnicode_READ_CHAR(w, 1) : 0)] |= (uint8_t)(1u << (len - 1));
        if (len > cue_max)
            cue_max = len;
    }
    Py_DECREF(wf);
    PyMem_Free(cls);
    free_cues(self);
    self->cues = cues; self->cue_slots = slots; self->cue_mask = cap - 1;
    self->single = sg; self->pair = pr; self->n_classes = n_classes; self->cue_max = cue_max;
    self->cue_lengths = first;
    Py_RETURN_NONE;
fail:
    Py_DECREF(wf);
    PyMem_Free(cls); PyMem_Free(cues); PyMem_Free(slots); PyMem_Free(sg); PyMem_Free(pr); PyMem_Free(first);
    return NULL;
}

static void Table_dealloc(Table *self)
{
    free_cues(self);
    words_free(&self->runs); words_free(&self->fillers); words_free(&self->stops);
    words_free(&self->negators); words_free(&self->breaks);
    free_table(self);
    PyMem_Free(self->scratch);
    if (self->has_weights)
        PyBuffer_Release(&self->weights);
    PyMem_Free(self->shows);
    PyMem_Free(self->id_bits);
    PyMem_Free(self->id_summary);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* ascending, in place (ids are not negative): an LSD radix sort of 9-bit digits for the usual
 * hundreds of ids, insertion sort for a few. A comparison sort of random ids is bound by branch
 * mispredictions and cost more than the rest of grams(). `tmp` has room for n ids. */
static void sort_ids(int64_t *a, int64_t *tmp, Py_ssize_t n)
{
    if (n <= 32) {
        for (Py_ssize_t i = 1; i < n; i++) {
            int64_t v = a[i];
            Py_ssize_t j = i;
            for (; j > 0 && a[j - 1] > v; j--)
                a[j] = a[j - 1];
            a[j] = v;
        }
        return;
    }
    uint64_t top = 0;
    for (Py_ssize_t i = 0; i < n; i++)
        top |= (uint64_t)a[i];
    int64_t *src = a, *dst = tmp;
    for (int shift = 0; shift == 0 || (top >> shift) != 0; shift += 9) {
        Py_ssize_t count[513] = {0};
        for (Py_ssize_t i = 0; i < n; i++)
            count[(((uint64_t)src[i] >> shift) & 511) + 1]++;
        for (int d = 0; d < 512; d++)
            count[d + 1] += count[d];
        for (Py_ssize_t i = 0; i < n; i++)
            dst[count[((uint64_t)src[i] >> shift) & 511]++] = src[i];
        int64_t *t = src; src = dst; dst = t;
    }
    if (src != a)
        memcpy(a, src, (size_t)n * sizeof(int64_t));
}

static int bit_of(const uint64_t *bits, Py_UCS4 c)
{
    return (int)((bits[(c & 0xffff) >> 6] >> (c & 63)) & 1);
}

static int negation_scopes(const Table *t, int kind, const void *d, Py_ssize_t n, char *in_scope)
{
    int any = 0;
    for (Py_ssize_t i = 0; i < n;) {
        Py_ssize_t len = 0;
        if (bit_of(t->neg_first, PyUnicode_READ(kind, d, i)))
            for (Py_ssize_t k = 0; k < t->negators.n && !len; k++)
                len = word_at(&t->negators, k, kind, d, n, i);
        if (!len) {
            i++;
            continue;
        }
        Py_ssize_t from = i + len, to = from + t->reach < n ? from + t->reach : n;
        for (Py_ssize_t j = from; j < to; j++)
            if (bit_of(t->is_break, PyUnicode_READ(kind, d, j)) && words_have_char(&t->breaks, PyUnicode_READ(kind, d, j))) {
                to = j;
                break;
            }
        for (Py_ssize_t j = from; j < to; j++)
            in_scope[j] = 1;
        any |= to > from;
        i = from;
    }
    return any;
}

/* out[0..m) in ascending order without repeats; returns how many remain. With the weights set,
 * every id below their row count goes through a two-level bitmap (set a bit per id, then read
 * the set bits in order, clearing them): no comparisons at all, where a sort of a sentence's few
 * hundred ids was bound by its mispredicted branches. Otherwise (or for a larger id) a radix sort. */
static Py_ssize_t sorted_distinct(Table *self, int64_t *out, int64_t *tmp, Py_ssize_t m)
{
    int64_t rows = self->has_weights ? (int64_t)self->weights.shape[0] : 0;
    int small = rows > 0;
    for (Py_ssize_t k = 0; k < m && small; k++)
        small = out[k] < rows;
    if (!small) {
        sort_ids(out, tmp, m);
        Py_ssize_t u = 0;
        for (Py_ssize_t k = 0; k < m; k++)
            if (u == 0 || out[k] != out[u - 1])
                out[u++] = out[k];
        return u;
    }
    uint64_t *bits = self->id_bits, *summary = self->id_summary;
    int64_t lo = rows, hi = 0;  /* the summary words touched */
    for (Py_ssize_t k = 0; k < m; k++) {
        uint64_t id = (uint64_t)out[k];
        bits[id >> 6] |= (uint64_t)1 << (id & 63);
        summary[id >> 12] |= (uint64_t)1 << ((id >> 6) & 63);
        if ((int64_t)(id >> 12) < lo) lo = (int64_t)(id >> 12);
        if ((int64_t)(id >> 12) > hi) hi = (int64_t)(id >> 12);
    }
    Py_ssize_t u = 0;
    for (int64_t s = lo; s <= hi && m > 0; s++) {
        uint64_t sw = summary[s];
        summary[s] = 0;
        while (sw) {
            uint64_t w = (uint64_t)s * 64 + (uint64_t)__builtin_ctzll(sw);
            sw &= sw - 1;
            uint64_t bw = bits[w];
            bits[w] = 0;
            while (bw) {
                out[u++] = (int64_t)(w * 64 + (uint64_t)__builtin_ctzll(bw));
                bw &= bw - 1;
            }
        }
    }
    return u;
}

/* Working memory for one grams() call, kept by the table between calls (a sentence's few kB
 * would otherwise be allocated and freed each time). The GIL is held throughout a call, so one
 * buffer per table is never used twice at once. A block above SCRATCH_KEEP is freed after use. */
#define SCRATCH_KEEP (1 << 16)  /* int64s: 512 kB */

static int64_t *scratch(Table *self, Py_ssize_t need)
{
    if (need > self->scratch_cap) {
        int64_t *p = PyMem_Realloc(self->scratch, (size_t)need * sizeof(int64_t));
        if (p == NULL) {
            PyErr_NoMemory();
            return NULL;
        }
        self->scratch = p;
        self->scratch_cap = need;
    }
    return self->scratch;
}

static void scratch_done(Table *self)
{
    if (self->scratch_cap > SCRATCH_KEEP) {
        PyMem_Free(self->scratch);
        self->scratch = NULL;
        self->scratch_cap = 0;
    }
}

/* The ascending, distinct feature ids of the n code points at data (a "^sentence$" string),
 * as grams() describes them, in the table's working memory (*ids; scratch_done() after use).
 * ef: the extra ids, a PySequence_Fast. Returns their number, or -1 with an exception set. */
static Py_ssize_t grams_core(Table *self, int kind, const void *data, Py_ssize_t n, int negation, int prefixes,
                             PyObject *ef, int with_cues, int64_t **ids)
{
    Py_ssize_t ne = PySequence_Fast_GET_SIZE(ef);
    /* at most: MAX_N plain + 2 * (N + 3 prefixes) twins per position, the extras, the cue tokens */
    Py_ssize_t cap = n * (MAX_N + 8) + ne + 1 + (Py_ssize_t)self->n_classes * (self->n_classes + 1) / 2;
    Py_ssize_t total = n * MAX_N;
    /* one block of working memory: out and tmp (cap ids each), the probes' keys and hashes
     * (2 * total), where each probe stands (total), the negation scope flags (n bytes) and the
     * characters' codes (n uint32) */
    int64_t *work = scratch(self, 2 * cap + 3 * total + (n / 8 + 1) + (n / 2 + 1));
    if (work == NULL)
        return -1;
    int64_t *out = work, *tmp = work + cap, *at = work + 2 * cap + 2 * total;
    uint64_t *q = (uint64_t *)(work + 2 * cap);
    char *in_scope = (char *)(work + 2 * cap + 3 * total);
    uint32_t *codes = (uint32_t *)(work + 2 * cap + 3 * total + (n / 8 + 1));
    if (negation) {
        memset(in_scope, 0, (size_t)n);
        if (!negation_scopes(self, kind, data, n, in_scope))
            in_scope = NULL;
    } else {
        in_scope = NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++)
        codes[i] = code_of(self, PyUnicode_READ(kind, data, i));
    Py_ssize_t m = 0;
    /* Two passes, so that the table's cache misses overlap instead of waiting one after another:
     * key, hash and prefetch the slot of every n-gram whose characters all have a code; then
     * probe and emit. */
    Py_ssize_t nq = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        uint64_t key = 0;
        for (int k = 1; k <= MAX_N && i + k <= n; k++) {
            uint32_t c = codes[i + k - 1];
            if (c == 0)
                break;  /* no known n-gram goes through this character */
            key |= (uint64_t)c << (CODE_BITS * (k - 1));
            uint64_t full = key | ((uint64_t)(k - 1) << 60), h = mix(full);
            q[2 * nq] = full;
            q[2 * nq + 1] = h;
            at[nq++] = i * MAX_N + (k - 1);
            __builtin_prefetch(&self->slots[h & self->mask]);
        }
    }
    for (Py_ssize_t j = 0; j < nq; j++) {
        uint64_t full = q[2 * j];
        const Slot *e = NULL;
        for (uint64_t s = q[2 * j + 1] & self->mask;; s = (s + 1) & self->mask) {
            if (self->slots[s].key == full) {
                e = &self->slots[s];
                break;
            }
            if (self->slots[s].key == 0)
                break;
        }
        if (e == NULL)
            continue;
        if (e->id >= 0)
            out[m++] = e->id;
        Py_ssize_t i = at[j] / MAX_N;
        int k = (int)(at[j] % MAX_N) + 1;
        if ((k == 2 || k == 3) && e->twins >= 0) {
            const int32_t *tw = &self->twin_ids[4 * (Py_ssize_t)e->twins];
            if (in_scope && in_scope[i] && tw[0] >= 0)
                out[m++] = tw[0];
            for (int p = 0; p < 3; p++)
                if ((prefixes >> p) & 1 && tw[1 + p] >= 0)
                    out[m++] = tw[1 + p];
        }
    }
    if (self->has_weights) {  /* score() sums these rows next: start fetching them now */
        const uint16_t *w = self->weights.buf;
        Py_ssize_t stride = self->weights.shape[1];
        for (Py_ssize_t j = 0; j < m; j++)
            __builtin_prefetch(w + out[j] * stride);
    }
    if (with_cues && self->cue_max > 0) {
        uint64_t present = 0;
        for (Py_ssize_t i = 0; i < n; i++) {
            Py_UCS4 c = PyUnicode_READ(kind, data, i);
            unsigned lengths = self->cue_lengths[cue_bucket(c, 0)] & 1u;
            if (i + 1 < n)
                lengths |= self->cue_lengths[cue_bucket(c, PyUnicode_READ(kind, data, i + 1))] & ~1u;
            for (int k = 1; lengths >> (k - 1) && i + k <= n; k++) {
                if (!((lengths >> (k - 1)) & 1))
                    continue;
                uint64_t key[3];
                pack_long(kind, data, i, k, key);
                const CueEntry *c = find_cue(self, key);
                if (c != NULL)
                    present |= c->classes;
            }
        }
        for (int a = 0; a < self->n_classes; a++) {
            if (!((present >> a) & 1))
                continue;
            if (self->single[a] >= 0)
                out[m++] = self->single[a];
            for (int b = a + 1; b < self->n_classes; b++)
                if ((present >> b) & 1 && self->pair[a * self->n_classes + b] >= 0)
                    out[m++] = self->pair[a * self->n_classes + b];
        }
    }
    for (Py_ssize_t k = 0; k < ne; k++) {
        long long v = PyLong_AsLongLong(PySequence_Fast_GET_ITEM(ef, k));
        if (v < 0) {
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_ValueError, "extra id %lld is negative", v);
            scratch_done(self);
            return -1;
        }
        out[m++] = v;
    }
    *ids = out;
    return sorted_distinct(self, out, tmp, m);
}

static PyObject *Table_grams(Table *self, PyObject *args)
{
    PyObject *text, *extra;
    int negation, prefixes, with_cues = 0;
    if (!PyArg_ParseTuple(args, "UpiO|p", &text, &negation, &prefixes, &extra, &with_cues))
        return NULL;
    if (self->slots == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Table not initialised");
        return NULL;
    }
    if (negation && !self->has_language) {
        PyErr_SetString(PyExc_RuntimeError, "negation scopes need set_language() first");
        return NULL;
    }
    PyObject *ef = PySequence_Fast(extra, "extra must be a sequence of ids");
    if (ef == NULL)
        return NULL;
    int64_t *ids;
    Py_ssize_t u = grams_core(self, PyUnicode_KIND(text), PyUnicode_DATA(text), PyUnicode_GET_LENGTH(text),
                              negation, prefixes, ef, with_cues, &ids);
    Py_DECREF(ef);
    if (u < 0)
        return NULL;
    PyObject *res = PyBytes_FromStringAndSize((const char *)ids, u * (Py_ssize_t)sizeof(int64_t));
    scratch_done(self);
    return res;
}

static int float_vector(PyObject *obj, Py_buffer *view, Py_ssize_t n, const char *name)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return -1;
    if (view->itemsize != 4 || view->format == NULL || strcmp(view->format, "f") != 0
            || view->len != n * (Py_ssize_t)sizeof(float)) {
        PyBuffer_Release(view);
        PyErr_Format(PyExc_TypeError, "%s must be a float32 vector of %zd values", name, n);
        return -1;
    }
    return 0;
}

/* with bias, slope and intercept: the calibrated probabilities of the sums, a list of floats.
 * The logit slope * (sum + bias) + intercept is rounded to float32 at each step as numpy rounds
 * it and clipped to [-50, 50]; its sigmoid is taken in double precision and rounded once to
 * float32 (the Python path does the same with math.exp, the same libm exp). */
static float calibrate(float sum, float bias, float slope, float icpt)
{
    volatile float raw = sum + bias;  /* volatile: no fused or widened arithmetic */
    volatile float x = slope * raw;
    x = x + icpt;
    float y = x;
    if (y < -50.0f) y = -50.0f;
    if (y > 50.0f) y = 50.0f;
    return (float)(1.0 / (1.0 + exp(-(double)y)));
}

static PyObject *calibrated_list(const float *acc, Py_ssize_t cols, const float *bias, const float *slope,
                                 const float *icpt)
{
    PyObject *out = PyList_New(cols);
    for (Py_ssize_t j = 0; out != NULL && j < cols; j++) {
        PyObject *f = PyFloat_FromDouble((double)calibrate(acc[j], bias[j], slope[j], icpt[j]));
        if (f == NULL)
            Py_CLEAR(out);
        else
            PyList_SET_ITEM(out, j, f);
    }
    return out;
}

static PyObject *calibrated(const float *acc, Py_ssize_t cols, PyObject *bobj, PyObject *aobj, PyObject *cobj)
{
    if (aobj == NULL || cobj == NULL) {
        PyErr_SetString(PyExc_TypeError, "bias needs slope and intercept too");
        return NULL;
    }
    Py_buffer B, A, C;
    if (float_vector(bobj, &B, cols, "bias") < 0)
        return NULL;
    if (float_vector(aobj, &A, cols, "slope") < 0) { PyBuffer_Release(&B); return NULL; }
    if (float_vector(cobj, &C, cols, "intercept") < 0) { PyBuffer_Release(&B); PyBuffer_Release(&A); return NULL; }
    PyObject *out = calibrated_list(acc, cols, B.buf, A.buf, C.buf);
    PyBuffer_Release(&B); PyBuffer_Release(&A); PyBuffer_Release(&C);
    return out;
}

/* W: a C-contiguous 2-D float32 ("f") or float16 ("e") array; only float16 when half_only */
static int weight_matrix(PyObject *wobj, int half_only, Py_buffer *W)
{
    if (PyObject_GetBuffer(wobj, W, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_ND) < 0)
        return -1;
    int f32 = !half_only && W->itemsize == 4 && W->format != NULL && strcmp(W->format, "f") == 0;
    int f16 = W->itemsize == 2 && W->format != NULL && strcmp(W->format, "e") == 0;
    if (W->ndim != 2 || !(f32 || f16)) {
        PyBuffer_Release(W);
        PyErr_SetString(PyExc_TypeError, half_only ? "W must be a C-contiguous 2-D float16 array"
                                                   : "W must be a C-contiguous 2-D float32 or float16 array");
        return -1;
    }
    return 0;
}

/* ids: int64 rows of a matrix of `rows` rows, each checked */
static int row_ids(PyObject *iobj, Py_ssize_t rows, Py_buffer *I)
{
    if (PyObject_GetBuffer(iobj, I, PyBUF_C_CONTIGUOUS) < 0)
        return -1;
    if (I->len % (Py_ssize_t)sizeof(int64_t) != 0) {
        PyBuffer_Release(I);
        PyErr_SetString(PyExc_TypeError, "ids must be int64");
        return -1;
    }
    const int64_t *ids = I->buf;
    for (Py_ssize_t r = 0; r < I->len / (Py_ssize_t)sizeof(int64_t); r++) {
        if (ids[r] < 0 || ids[r] >= rows) {
            PyBuffer_Release(I);
            PyErr_Format(PyExc_IndexError, "row %lld out of range", (long long)ids[r]);
            return -1;
        }
    }
    return 0;
}

/* float16 -> float32, exactly (every half is a float) */
static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, bits;
    if (exp == 0 && man == 0) {
        bits = sign;
    } else if (exp == 0) {  /* subnormal: man * 2^-24, normalised */
        int shifts = 0;
        while (!(man & 0x400u)) {
            man <<= 1;
            shifts++;
        }
        bits = sign | ((uint32_t)(113 - shifts) << 23) | ((man & 0x3ffu) << 13);
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

#define HALF_AHEAD 8  /* rows fetched ahead: their cache misses overlap */

/* shows (NULL: not wanted): one bit per row; *carried gets bit j set when a row with its bit
 * has a weight > 0 in column j (NaN is not > 0) */
static int shown(const uint8_t *shows, int64_t id)
{
    return shows != NULL && ((shows[id >> 3] >> (id & 7)) & 1);
}

static void sum_half_rows(const uint16_t *w, Py_ssize_t stride, const int64_t *ids, Py_ssize_t k, float *acc,
                          Py_ssize_t cols, const uint8_t *shows, uint64_t *carried)
{
    for (Py_ssize_t r = 0; r < k; r++) {
        if (r + HALF_AHEAD < k)
            __builtin_prefetch(w + ids[r + HALF_AHEAD] * stride);
        const uint16_t *src = w + ids[r] * stride;
        int show = shown(shows, ids[r]);
        for (Py_ssize_t j = 0; j < cols; j++) {
            float x = half_to_float(src[j]);
            acc[j] += x;
            if (show && x > 0.0f)
                *carried |= (uint64_t)1 << j;
        }
    }
}

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#define HAVE_F16C_PATH 1
/* the same sums with the processor's half conversion, eight columns at a time: every lane adds
 * in float32, row after row, as the scalar loop does (no fused or reordered arithmetic) */
__attribute__((target("avx,f16c")))
static void sum_half_rows_f16c(const uint16_t *w, Py_ssize_t stride, const int64_t *ids, Py_ssize_t k, float *acc,
                               Py_ssize_t cols, const uint8_t *shows, uint64_t *carried)
{
    uint64_t up = 0;
    const __m256 zero = _mm256_setzero_ps();
    Py_ssize_t vec = (cols + 7) / 8 * 8 <= stride ? (cols + 7) / 8 : cols / 8;  /* the padding is read, not kept */
    __m256 s[8];
    float whole[64];
    for (Py_ssize_t v = 0; v < vec; v++)
        s[v] = _mm256_setzero_ps();
    for (Py_ssize_t r = 0; r < k; r++) {
        if (r + HALF_AHEAD < k)
            __builtin_prefetch(w + ids[r + HALF_AHEAD] * stride);
        const uint16_t *src = w + ids[r] * stride;
        int show = shown(shows, ids[r]);
        for (Py_ssize_t v = 0; v < vec; v++) {
            __m256 x = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + 8 * v)));
            s[v] = _mm256_add_ps(s[v], x);
            if (show)
                up |= (uint64_t)(unsigned)_mm256_movemask_ps(_mm256_cmp_ps(x, zero, _CMP_GT_OQ)) << (8 * v);
        }
        for (Py_ssize_t j = 8 * vec; j < cols; j++) {
            float x = half_to_float(src[j]);
            acc[j] += x;
            if (show && x > 0.0f)
                up |= (uint64_t)1 << j;
        }
    }
    for (Py_ssize_t v = 0; v < vec; v++)
        _mm256_storeu_ps(whole + 8 * v, s[v]);
    memcpy(acc, whole, (size_t)(8 * vec < cols ? 8 * vec : cols) * sizeof(float));
    if (carried != NULL)
        *carried |= cols < 64 ? up & (((uint64_t)1 << cols) - 1) : up;  /* not the padding's columns */
}
#endif

/* the sums of the first cols columns of rows ids[0..k) (acc zeroed by the caller) */
static void sum_half(const uint16_t *w, Py_ssize_t stride, const int64_t *ids, Py_ssize_t k, float *acc,
                     Py_ssize_t cols, const uint8_t *shows, uint64_t *carried)
{
#ifdef HAVE_F16C_PATH
    if (cols <= 64 && __builtin_cpu_supports("avx") && __builtin_cpu_supports("f16c")) {
        sum_half_rows_f16c(w, stride, ids, k, acc, cols, shows, carried);
        return;
    }
#endif
    sum_half_rows(w, stride, ids, k, acc, cols, shows, carried);
}

/* weight_sum(W, ids, bias=None, slope=None, intercept=None, *, cols=None): see the top of the file */
static PyObject *weight_sum(PyObject *mod, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"W", "ids", "bias", "slope", "intercept", "cols", NULL};
    PyObject *wobj, *iobj, *bobj = Py_None, *aobj = Py_None, *cobj = Py_None, *colobj = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO|OOO$O", kwlist, &wobj, &iobj, &bobj, &aobj, &cobj, &colobj))
        return NULL;
    Py_buffer W, I;
    if (weight_matrix(wobj, 0, &W) < 0)
        return NULL;
    if (row_ids(iobj, W.shape[0], &I) < 0) { PyBuffer_Release(&W); return NULL; }
    Py_ssize_t stride = W.shape[1], k = I.len / (Py_ssize_t)sizeof(int64_t), cols = stride;
    if (colobj != Py_None && ((cols = PyLong_AsSsize_t(colobj)) < 0 || cols > stride)) {
        PyBuffer_Release(&W); PyBuffer_Release(&I);
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_ValueError, "cols %zd not in 0..%zd", cols, stride);
        return NULL;
    }
    PyObject *res = PyBytes_FromStringAndSize(NULL, cols * (Py_ssize_t)sizeof(float));
    if (res == NULL) { PyBuffer_Release(&W); PyBuffer_Release(&I); return NULL; }
    float *acc = (float *)PyBytes_AS_STRING(res);
    for (Py_ssize_t j = 0; j < cols; j++)
        acc[j] = 0.0f;
    const int64_t *ids = I.buf;
    if (W.itemsize == 2) {
        sum_half(W.buf, stride, ids, k, acc, cols, NULL, NULL);
    } else {
        for (Py_ssize_t r = 0; r < k; r++) {
            const float *src = (const float *)W.buf + ids[r] * stride;
            for (Py_ssize_t j = 0; j < cols; j++)
                acc[j] += src[j];
        }
    }
    PyBuffer_Release(&W);
    PyBuffer_Release(&I);
    if (bobj == Py_None)
        return res;
    PyObject *out = calibrated(acc, cols, bobj, aobj == Py_None ? NULL : aobj, cobj == Py_None ? NULL : cobj);
    Py_DECREF(res);
    return out;
}

/* set_language(runs, fillers, stops, negators, breaks, reach): features.py's FILLER_RUNS,
 * FILLER_WORDS, FILLER_STOPS, NEGATORS, CLAUSE_BREAKS and NEG_REACH, for canonical() and the
 * negation scopes. */
static PyObject *Table_set_language(Table *self, PyObject *args)
{
    PyObject *runs, *fillers, *stops, *negators, *breaks;
    Py_ssize_t reach;
    if (!PyArg_ParseTuple(args, "OOOOOn", &runs, &fillers, &stops, &negators, &breaks, &reach))
        return NULL;
    self->has_language = 0;
    if (words_read(runs, &self->runs, "runs") < 0 || words_read(fillers, &self->fillers, "fillers") < 0
            || words_read(stops, &self->stops, "stops") < 0 || words_read(negators, &self->negators, "negators") < 0
            || words_read(breaks, &self->breaks, "breaks") < 0)
        return NULL;
    for (Py_ssize_t k = 0; k < self->runs.n; k++) {
        Py_UCS4 c = self->runs.chars[self->runs.at[k]];
        /* a run of a stop character could end short of its length: canonical() takes whole runs */
        if (self->runs.at[k + 1] - self->runs.at[k] != 1 || Py_UNICODE_ISSPACE(c) || words_have_char(&self->stops, c)) {
            PyErr_SetString(PyExc_ValueError, "runs must be single characters that are no stop");
            return NULL;
        }
    }
    if (reach < 0) {
        PyErr_SetString(PyExc_ValueError, "reach must not be negative");
        return NULL;
    }
    memset(self->neg_first, 0, sizeof self->neg_first);
    memset(self->is_break, 0, sizeof self->is_break);
    for (Py_ssize_t k = 0; k < self->negators.n; k++) {
        Py_UCS4 c = self->negators.chars[self->negators.at[k]] & 0xffff;
        self->neg_first[c >> 6] |= (uint64_t)1 << (c & 63);
    }
    for (Py_ssize_t k = 0; k < self->breaks.n; k++) {
        Py_UCS4 c = self->breaks.chars[self->breaks.at[k]] & 0xffff;
        self->is_break[c >> 6] |= (uint64_t)1 << (c & 63);
    }
    memset(self->stop_bits, 0, sizeof self->stop_bits);
    memset(self->filler_first, 0, sizeof self->filler_first);
    for (Py_ssize_t k = 0; k < self->stops.n; k++) {
        Py_UCS4 c = self->stops.chars[self->stops.at[k]] & 0xffff;
        self->stop_bits[c >> 6] |= (uint64_t)1 << (c & 63);
    }
    const Words *starts[2] = {&self->runs, &self->fillers};
    for (int w = 0; w < 2; w++)
        for (Py_ssize_t k = 0; k < starts[w]->n; k++) {
            Py_UCS4 c = starts[w]->chars[starts[w]->at[k]] & 0xffff;
            self->filler_first[c >> 6] |= (uint64_t)1 << (c & 63);
        }
    self->reach = reach;
    self->has_language = 1;
    Py_RETURN_NONE;
}

static int is_stop(const Table *t, Py_UCS4 c)
{
    return Py_UNICODE_ISSPACE(c) || (bit_of(t->stop_bits, c) && words_have_char(&t->stops, c));
}

/* the length of the filler starting at i (0: none): the runs, then the words, in their order;
 * a filler needs the end of the text or a stop after it */
static Py_ssize_t filler_at(const Table *t, int kind, const void *d, Py_ssize_t n, Py_ssize_t i)
{
    Py_UCS4 c = PyUnicode_READ(kind, d, i);
    if (!bit_of(t->filler_first, c))
        return 0;
    for (Py_ssize_t r = 0; r < t->runs.n; r++) {
        if (c != t->runs.chars[t->runs.at[r]])
            continue;
        Py_ssize_t j = i + 1;
        while (j < n && PyUnicode_READ(kind, d, j) == c)
            j++;
        if (j == n || is_stop(t, PyUnicode_READ(kind, d, j)))
            return j - i;
    }
    for (Py_ssize_t w = 0; w < t->fillers.n; w++) {
        Py_ssize_t len = word_at(&t->fillers, w, kind, d, n, i);
        if (len && (i + len == n || is_stop(t, PyUnicode_READ(kind, d, i + len))))
            return len;
    }
    return 0;
}

/* canonical(text) -> str: tonecheck.model.features.canonical, the same string: fillers
 * standing alone removed, digit runs (with . or , between digits) folded to "0", whitespace runs
 * to one space, stripped. */
/* features.canonical of text[0:n) into a[at..), with b as room (both n code points from at);
 * returns its length */
static Py_ssize_t canonical_into(const Table *self, int kind, const void *d, Py_ssize_t n, Py_UCS4 *a, Py_UCS4 *b)
{
    /* 1. fillers: a match needs the text's start or a stop before it, in the original text */
    Py_ssize_t m = 0;
    for (Py_ssize_t i = 0; i < n;) {
        if (i == 0 || is_stop(self, PyUnicode_READ(kind, d, i - 1))) {
            Py_ssize_t len = filler_at(self, kind, d, n, i);
            if (len > 0) {
                i += len;
                continue;
            }
        }
        a[m++] = PyUnicode_READ(kind, d, i++);
    }
    /* 2. digit runs, with single . or , between digits, become 0 */
    Py_ssize_t k = 0;
    for (Py_ssize_t i = 0; i < m;) {
        if (!Py_UNICODE_ISDECIMAL(a[i])) {
            b[k++] = a[i++];
            continue;
        }
        while (i < m && Py_UNICODE_ISDECIMAL(a[i]))
            i++;
        while (i + 1 < m && (a[i] == '.' || a[i] == ',') && Py_UNICODE_ISDECIMAL(a[i + 1]))
            for (i++; i < m && Py_UNICODE_ISDECIMAL(a[i]); i++)
                ;
        b[k++] = '0';
    }
    /* 3. whitespace runs become one space; then no space at either end */
    m = 0;
    for (Py_ssize_t i = 0; i < k;) {
        if (Py_UNICODE_ISSPACE(b[i])) {
            while (i < k && Py_UNICODE_ISSPACE(b[i]))
                i++;
            a[m++] = ' ';
        } else {
            a[m++] = b[i++];
        }
    }
    Py_ssize_t lo = 0, hi = m;
    while (lo < hi && a[lo] == ' ')
        lo++;
    while (hi > lo && a[hi - 1] == ' ')
        hi--;
    memmove(a, a + lo, (size_t)(hi - lo) * sizeof(Py_UCS4));
    return hi - lo;
}

static PyObject *Table_canonical(Table *self, PyObject *arg)
{
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "canonical() needs a str");
        return NULL;
    }
    if (!self->has_language) {
        PyErr_SetString(PyExc_RuntimeError, "canonical() needs set_language() first");
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(arg);
    Py_UCS4 *a = PyMem_Malloc((size_t)(n ? n : 1) * sizeof(Py_UCS4));
    Py_UCS4 *b = PyMem_Malloc((size_t)(n ? n : 1) * sizeof(Py_UCS4));
    if (a == NULL || b == NULL) { PyMem_Free(a); PyMem_Free(b); return PyErr_NoMemory(); }
    Py_ssize_t len = canonical_into(self, PyUnicode_KIND(arg), PyUnicode_DATA(arg), n, a, b);
    PyObject *res = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, a, len);
    PyMem_Free(a);
    PyMem_Free(b);
    return res;
}

/* set_weights(W, cols, bias, slope, intercept[, gates]): the float16 weight matrix (rows may be
 * padded), the calibration of its first cols columns and, optionally, a float32 threshold per
 * column for score()'s fired bits (inf: the column never fires), for score() */
static PyObject *Table_set_weights(Table *self, PyObject *args)
{
    PyObject *wobj, *bobj, *aobj, *cobj, *gobj = NULL;
    Py_ssize_t cols;
    if (!PyArg_ParseTuple(args, "OnOOO|O", &wobj, &cols, &bobj, &aobj, &cobj, &gobj))
        return NULL;
    Py_buffer W;
    if (weight_matrix(wobj, 1, &W) < 0)
        return NULL;
    if (cols < 0 || cols > W.shape[1] || cols > MAX_OUTPUTS) {
        PyBuffer_Release(&W);
        PyErr_Format(PyExc_ValueError, "cols %zd not in 0..%zd", cols, W.shape[1] < MAX_OUTPUTS ? W.shape[1] : MAX_OUTPUTS);
        return NULL;
    }
    Py_buffer B, A, C;
    if (float_vector(bobj, &B, cols, "bias") < 0) { PyBuffer_Release(&W); return NULL; }
    if (float_vector(aobj, &A, cols, "slope") < 0) { PyBuffer_Release(&W); PyBuffer_Release(&B); return NULL; }
    if (float_vector(cobj, &C, cols, "intercept") < 0) {
        PyBuffer_Release(&W); PyBuffer_Release(&B); PyBuffer_Release(&A);
        return NULL;
    }
    /* which rows are text n-grams a reviewer could be shown (ModelDetector's shows_text): an
     * n-gram, plain or a twin, whose second character is no ':' and that keeps two characters
     * or more once the '^' and '$' at its ends are stripped */
    Py_ssize_t rows = W.shape[0];
    uint8_t *shows = PyMem_Calloc((size_t)rows / 8 + 1, 1);
    if (shows == NULL) {
        PyBuffer_Release(&W); PyBuffer_Release(&B); PyBuffer_Release(&A); PyBuffer_Release(&C);
        return PyErr_NoMemory();
    }
    for (uint64_t s = 0; s <= self->mask; s++) {
        const Slot *e = &self->slots[s];
        if (e->key == 0)
            continue;
        int len = (int)(e->key >> 60) + 1, lo = 0, hi = len;
        Py_UCS4 w[MAX_N];
        for (int j = 0; j < len; j++)
            w[j] = self->chars[(e->key >> (CODE_BITS * j)) & MAX_CODES];
        while (lo < hi && (w[lo] == '^' || w[lo] == '$'))
            lo++;
        while (hi > lo && (w[hi - 1] == '^' || w[hi - 1] == '$'))
            hi--;
        if ((len >= 2 && w[1] == ':') || hi - lo < 2)
            continue;
        int32_t ids[5] = {e->id, -1, -1, -1, -1};
        if (e->twins >= 0)
            memcpy(&ids[1], &self->twin_ids[4 * (Py_ssize_t)e->twins], 4 * sizeof(int32_t));
        for (int j = 0; j < 5; j++)
            if (ids[j] >= 0 && ids[j] < rows)
                shows[ids[j] >> 3] |= (uint8_t)(1u << (ids[j] & 7));
    }
    uint64_t *bits = PyMem_Calloc((size_t)rows / 64 + 1, sizeof(uint64_t));
    uint64_t *summary = PyMem_Calloc((size_t)rows / 4096 + 1, sizeof(uint64_t));
    if (bits == NULL || summary == NULL) {
        PyMem_Free(shows); PyMem_Free(bits); PyMem_Free(summary);
        PyBuffer_Release(&W); PyBuffer_Release(&B); PyBuffer_Release(&A); PyBuffer_Release(&C);
        return PyErr_NoMemory();
    }
    PyMem_Free(self->shows);
    PyMem_Free(self->id_bits);
    PyMem_Free(self->id_summary);
    self->shows = shows;
    self->id_bits = bits;
    self->id_summary = summary;
    for (Py_ssize_t j = 0; j < MAX_OUTPUTS; j++)
        self->gate[j] = INFINITY;
    if (gobj != NULL && gobj != Py_None) {
        Py_buffer G;
        if (float_vector(gobj, &G, cols, "gates") < 0) {
            PyMem_Free(shows); PyMem_Free(bits); PyMem_Free(summary);
            PyBuffer_Release(&W); PyBuffer_Release(&B); PyBuffer_Release(&A); PyBuffer_Release(&C);
            return NULL;
        }
        memcpy(self->gate, G.buf, (size_t)cols * sizeof(float));
        PyBuffer_Release(&G);
    }
    memcpy(self->bias, B.buf, (size_t)cols * sizeof(float));
    memcpy(self->slope, A.buf, (size_t)cols * sizeof(float));
    memcpy(self->icpt, C.buf, (size_t)cols * sizeof(float));
    PyBuffer_Release(&B); PyBuffer_Release(&A); PyBuffer_Release(&C);
    if (self->has_weights)
        PyBuffer_Release(&self->weights);
    self->weights = W;
    self->n_outputs = cols;
    self->has_weights = 1;
    Py_RETURN_NONE;
}

/* score(sentence, negation, prefixes, extra, cues) -> (probabilities, carried, fired): one call for a
 * normalised sentence. The probabilities (bytes of float32) are those of
 * weight_sum(W, grams("^" + canonical(sentence) + "$", ...), bias, slope, intercept, cols=cols)
 * with set_weights' arguments; carried (an int) has bit j set when a text n-gram of the sentence
 * (ModelDetector's shows_text) has a weight > 0 for output j; fired (an int) has bit j set when
 * probability j is not below set_weights' gate for j. The ids themselves are not kept:
 * a sentence's few bytes stay in the caller's memo, its features are found again when asked. */
static PyObject *Table_score(Table *self, PyObject *args)
{
    PyObject *text, *extra;
    int negation, prefixes, with_cues;
    if (!PyArg_ParseTuple(args, "UpiOp", &text, &negation, &prefixes, &extra, &with_cues))
        return NULL;
    if (self->slots == NULL || !self->has_language || !self->has_weights) {
        PyErr_SetString(PyExc_RuntimeError, "score() needs the table, set_language() and set_weights() first");
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    enum { ON_STACK = 512 };
    Py_UCS4 stack_a[ON_STACK + 2], stack_b[ON_STACK];
    Py_UCS4 *a = stack_a, *b = stack_b;
    if (n > ON_STACK) {
        a = PyMem_Malloc((size_t)(n + 2) * sizeof(Py_UCS4));
        b = PyMem_Malloc((size_t)n * sizeof(Py_UCS4));
        if (a == NULL || b == NULL) { PyMem_Free(a); PyMem_Free(b); return PyErr_NoMemory(); }
    }
    Py_ssize_t len = canonical_into(self, PyUnicode_KIND(text), PyUnicode_DATA(text), n, a + 1, b);
    a[0] = '^';
    a[len + 1] = '$';
    PyObject *ef = PySequence_Fast(extra, "extra must be a sequence of ids");
    int64_t *ids = NULL;
    Py_ssize_t k = ef == NULL ? -1 : grams_core(self, PyUnicode_4BYTE_KIND, a, len + 2, negation, prefixes, ef, with_cues, &ids);
    Py_XDECREF(ef);
    if (a != stack_a) { PyMem_Free(a); PyMem_Free(b); }
    if (k < 0)
        return NULL;
    Py_ssize_t rows = self->weights.shape[0], stride = self->weights.shape[1];
    for (Py_ssize_t r = 0; r < k; r++) {
        if (ids[r] >= rows) {
            scratch_done(self);
            PyErr_Format(PyExc_IndexError, "feature id %lld has no weight row", (long long)ids[r]);
            return NULL;
        }
    }
    float acc[MAX_OUTPUTS] = {0};
    uint64_t carried = 0;
    sum_half(self->weights.buf, stride, ids, k, acc, self->n_outputs, self->shows, &carried);
    scratch_done(self);
    uint64_t fired = 0;
    for (Py_ssize_t j = 0; j < self->n_outputs; j++) {
        acc[j] = calibrate(acc[j], self->bias[j], self->slope[j], self->icpt[j]);
        if (!(acc[j] < self->gate[j]))
            fired |= (uint64_t)1 << j;
    }
    PyObject *p = PyBytes_FromStringAndSize((const char *)acc, self->n_outputs * (Py_ssize_t)sizeof(float));
    PyObject *c = p == NULL ? NULL : PyLong_FromUnsignedLongLong(carried);
    PyObject *f = c == NULL ? NULL : PyLong_FromUnsignedLongLong(fired);
    if (f == NULL) {
        Py_XDECREF(p);
        Py_XDECREF(c);
        return NULL;
    }
    PyObject *res = PyTuple_Pack(3, p, c, f);
    Py_DECREF(p);
    Py_DECREF(c);
    Py_DECREF(f);
    return res;
}

static PyMethodDef Table_methods[] = {
    {"set_weights", (PyCFunction)Table_set_weights, METH_VARARGS, "set_weights(W, cols, bias, slope, intercept[, gates])"},
    {"score", (PyCFunction)Table_score, METH_VARARGS,
     "score(sentence, negation, prefixes, extra, cues) -> (float32 probabilities as bytes, carried bits, fired bits)"},
    {"grams", (PyCFunction)Table_grams, METH_VARARGS,
     "grams(text, negation, prefixes, extra, cues=False) -> bytes of int64 ids"},
    {"canonical", (PyCFunction)Table_canonical, METH_O, "canonical(text) -> str (features.canonical)"},
    {"set_language", (PyCFunction)Table_set_language, METH_VARARGS,
     "set_language(runs, fillers, stops, negators, breaks, reach)"},
    {"set_cues", (PyCFunction)Table_set_cues, METH_VARARGS, "set_cues(words, classes, n_classes, single, pair)"},
    {NULL}
};

static PyTypeObject TableType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "tonecheck._grams.Table",
    .tp_doc = "Known n-grams and their twins, for the trained detector's features.",
    .tp_basicsize = sizeof(Table),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Table_init,
    .tp_dealloc = (destructor)Table_dealloc,
    .tp_methods = Table_methods,
};

static PyMethodDef module_methods[] = {
    {"weight_sum", (PyCFunction)(void (*)(void))weight_sum, METH_VARARGS | METH_KEYWORDS,
     "weight_sum(W, ids, bias=None, slope=None, intercept=None, *, cols=None) -> float32 sums (bytes) or probabilities"},
    {NULL}
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, "tonecheck._grams", "The trained detector's hot path (optional).", -1, module_methods,
};

PyMODINIT_FUNC PyInit__grams(void)
{
    PyObject *m = tonecheck_module(&moduledef, &TableType, "Table");
    if (m != NULL && (PyModule_AddIntConstant(m, "MAX_CUE", MAX_CUE) < 0 || PyModule_AddIntConstant(m, "MAX_N", MAX_N) < 0))
        Py_CLEAR(m);
    return m;
}
