/* Which rule patterns may run, given the literals one Aho-Corasick pass found (optional C path).
 *
 * tonecheck.engine.detectors does the same in Python when this extension is not built; the
 * tests check that both choose the same patterns.
 *
 * GateIndex(n_literals, slots, anchors):
 *   slots: one (rule, k, first, later, branches) per gated pattern k of a rule, where `first`
 *   is the literal ids of its most selective gate (the pattern is indexed by them), `later`
 *   its other gates and `branches` one list of gates per top-level alternative (empty: none);
 *   a gate is a list of literal ids, passed when one of them was found.
 *   anchors: per rule, the literal ids of its hand anchors (empty: none required).
 * GateIndex.query(found, ok) -> list of (rule, k): the patterns indexed by a found literal
 *   whose rule is allowed (ok[rule] != 0), whose hand anchors (if any) were found, whose later
 *   gates all pass and, when it has branches, one of whose branches passes whole.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include "_native.h"
#include <stdint.h>
#include <string.h>

typedef struct {
    int32_t rule, k;
    int32_t later_at, later_n;     /* gates in `gates` */
    int32_t branch_at, branch_n;   /* branches in `branches` */
} Slot;

typedef struct {
    PyObject_HEAD
    Py_ssize_t n_literals, n_rules, n_slots;
    Slot *slots;
    int32_t *index_at;   /* n_literals + 1 offsets into index */
    int32_t *index;      /* slot numbers */
    int32_t *gates;      /* gate g: literal ids gate_lits[gates[g] .. gates[g + 1]) */
    int32_t *gate_lits;
    int32_t *branch_from, *branch_to;  /* branch b: gates branch_from[b] .. branch_to[b] */
    int32_t *anchor_at;  /* n_rules + 1 offsets into anchor_lits */
    int32_t *anchor_lits;
    uint64_t *seen;      /* the found literals of the current query, as bits */
    uint32_t *stamp;     /* per slot: the query that last looked at it */
    uint32_t query_no;
} GateIndex;

/* growable int32 arrays used while building */
typedef struct { int32_t *v; Py_ssize_t n, cap; } Vec;

static int vec_push(Vec *a, int32_t x)
{
    if (a->n == a->cap) {
        Py_ssize_t cap = a->cap ? a->cap * 2 : 64;
        int32_t *v = PyMem_Realloc(a->v, (size_t)cap * sizeof(int32_t));
        if (v == NULL) { PyErr_NoMemory(); return -1; }
        a->v = v; a->cap = cap;
    }
    a->v[a->n++] = x;
    return 0;
}

static int push_ids(Vec *lits, PyObject *ids, Py_ssize_t n_literals)
{
    PyObject *it = PyObject_GetIter(ids);
    if (it == NULL)
        return -1;
    PyObject *x;
    while ((x = PyIter_Next(it)) != NULL) {
        long v = PyLong_AsLong(x);
        Py_DECREF(x);
        if (v == -1 && PyErr_Occurred()) { Py_DECREF(it); return -1; }
        if (v < 0 || v >= n_literals) {
            Py_DECREF(it);
            PyErr_Format(PyExc_ValueError, "literal id %ld out of range", v);
            return -1;
        }
        if (vec_push(lits, (int32_t)v) < 0) { Py_DECREF(it); return -1; }
    }
    Py_DECREF(it);
    return PyErr_Occurred() ? -1 : 0;
}

/* gates: a sequence of literal-id collections; appended to gates/gate_lits */
static int push_gates(Vec *gates, Vec *lits, PyObject *seq, Py_ssize_t n_literals, int32_t *count)
{
    PyObject *fast = PySequence_Fast(seq, "gates must be a sequence");
    if (fast == NULL)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (push_ids(lits, PySequence_Fast_GET_ITEM(fast, i), n_literals) < 0 || vec_push(gates, (int32_t)lits->n) < 0) {
            Py_DECREF(fast);
            return -1;
        }
    }
    *count = (int32_t)n;
    Py_DECREF(fast);
    return 0;
}

static void free_all(GateIndex *s)
{
    PyMem_Free(s->slots); PyMem_Free(s->index_at); PyMem_Free(s->index); PyMem_Free(s->gates);
    PyMem_Free(s->gate_lits); PyMem_Free(s->branch_from); PyMem_Free(s->branch_to); PyMem_Free(s->anchor_at);
    PyMem_Free(s->anchor_lits); PyMem_Free(s->seen); PyMem_Free(s->stamp);
    s->slots = NULL; s->index_at = NULL; s->index = NULL; s->gates = NULL; s->gate_lits = NULL;
    s->branch_from = NULL; s->branch_to = NULL; s->anchor_at = NULL; s->anchor_lits = NULL;
    s->seen = NULL; s->stamp = NULL;
}

static int GateIndex_init(GateIndex *self, PyObject *args, PyObject *kwds)
{
    Py_ssize_t n_literals;
    PyObject *slots_obj, *anchors_obj;
    if (!PyArg_ParseTuple(args, "nOO", &n_literals, &slots_obj, &anchors_obj))
        return -1;
    if (n_literals < 0 || n_literals > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "n_literals out of range");
        return -1;
    }
    free_all(self);
    Vec gates = {0}, lits = {0}, bfrom = {0}, bto = {0}, index_lits = {0}, index_slots = {0};
    Vec anchor_at = {0}, anchor_lits = {0};
    PyObject *sf = NULL, *af = NULL;
    Slot *slots = NULL;
    int32_t *index_at = NULL, *index = NULL;
    /* gate g is gate_lits[gates[g] .. gates[g + 1]): gates starts with the 0 of gate 0 */
    if (vec_push(&gates, 0) < 0)
        goto fail;
    af = PySequence_Fast(anchors_obj, "anchors must be a sequence");
    if (af == NULL)
        goto fail;
    Py_ssize_t n_rules = PySequence_Fast_GET_SIZE(af);
    if (vec_push(&anchor_at, 0) < 0)
        goto fail;
    for (Py_ssize_t r = 0; r < n_rules; r++) {
        if (push_ids(&anchor_lits, PySequence_Fast_GET_ITEM(af, r), n_literals) < 0
                || vec_push(&anchor_at, (int32_t)anchor_lits.n) < 0)
            goto fail;
    }
    sf = PySequence_Fast(slots_obj, "slots must be a sequence");
    if (sf == NULL)
        goto fail;
    Py_ssize_t n_slots = PySequence_Fast_GET_SIZE(sf);
    slots = PyMem_Calloc((size_t)(n_slots ? n_slots : 1), sizeof(Slot));
    if (slots == NULL) { PyErr_NoMemory(); goto fail; }
    for (Py_ssize_t i = 0; i < n_slots; i++) {
        PyObject *first, *later, *brs;
        int rule, k;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(sf, i), "iiOOO", &rule, &k, &first, &later, &brs))
            goto fail;
        if (rule < 0 || rule >= n_rules) {
            PyErr_Format(PyExc_ValueError, "slot %zd: rule %d out of range", i, rule);
            goto fail;
        }
        Slot *s = &slots[i];
        s->rule = rule; s->k = k;
        s->later_at = (int32_t)(gates.n - 1);
        if (push_gates(&gates, &lits, later, n_literals, &s->later_n) < 0)
            goto fail;
        PyObject *bf = PySequence_Fast(brs, "branches must be a sequence");
        if (bf == NULL)
            goto fail;
        s->branch_at = (int32_t)bfrom.n;
        s->branch_n = (int32_t)PySequence_Fast_GET_SIZE(bf);
        for (Py_ssize_t b = 0; b < s->branch_n; b++) {
            int32_t cnt, start = (int32_t)(gates.n - 1);
            if (push_gates(&gates, &lits, PySequence_Fast_GET_ITEM(bf, b), n_literals, &cnt) < 0
                    || vec_push(&bfrom, start) < 0 || vec_push(&bto, start + cnt) < 0) {
                Py_DECREF(bf);
                goto fail;
            }
        }
        Py_DECREF(bf);
        /* index the slot by each literal of its first gate */
        Py_ssize_t before = index_lits.n;
        if (push_ids(&index_lits, first, n_literals) < 0)
            goto fail;
        for (Py_ssize_t j = before; j < index_lits.n; j++)
            if (vec_push(&index_slots, (int32_t)i) < 0)
                goto fail;
    }
    /* counting sort of (literal, slot) pairs into CSR form */
    index_at = PyMem_Calloc((size_t)n_literals + 1, sizeof(int32_t));
    index = PyMem_Calloc((size_t)(index_lits.n ? index_lits.n : 1), sizeof(int32_t));
    if (index_at == NULL || index == NULL) { PyErr_NoMemory(); goto fail; }
    for (Py_ssize_t j = 0; j < index_lits.n; j++)
        index_at[index_lits.v[j] + 1]++;
    for (Py_ssize_t l = 0; l < n_literals; l++)
        index_at[l + 1] += index_at[l];
    {
        int32_t *fill = PyMem_Calloc((size_t)n_literals + 1, sizeof(int32_t));
        if (fill == NULL) { PyErr_NoMemory(); goto fail; }
        memcpy(fill, index_at, ((size_t)n_literals + 1) * sizeof(int32_t));
        for (Py_ssize_t j = 0; j < index_lits.n; j++)
            index[fill[index_lits.v[j]]++] = index_slots.v[j];
        PyMem_Free(fill);
    }
    self->seen = PyMem_Calloc((size_t)(n_literals / 64 + 1), sizeof(uint64_t));
    self->stamp = PyMem_Calloc((size_t)(n_slots ? n_slots : 1), sizeof(uint32_t));
    if (self->seen == NULL || self->stamp == NULL) { PyErr_NoMemory(); goto fail; }
    self->n_literals = n_literals; self->n_rules = n_rules; self->n_slots = n_slots;
    self->slots = slots; self->index_at = index_at; self->index = index;
    self->gates = gates.v; self->gate_lits = lits.v; self->branch_from = bfrom.v; self->branch_to = bto.v;
    self->anchor_at = anchor_at.v; self->anchor_lits = anchor_lits.v;
    self->query_no = 0;
    PyMem_Free(index_lits.v); PyMem_Free(index_slots.v);
    Py_DECREF(sf); Py_DECREF(af);
    return 0;
fail:
    Py_XDECREF(sf); Py_XDECREF(af);
    PyMem_Free(slots); PyMem_Free(index_at); PyMem_Free(index);
    PyMem_Free(gates.v); PyMem_Free(lits.v); PyMem_Free(bfrom.v); PyMem_Free(bto.v); PyMem_Free(index_lits.v);
    PyMem_Free(index_slots.v); PyMem_Free(anchor_at.v); PyMem_Free(anchor_lits.v);
    free_all(self);
    return -1;
}

static void GateIndex_dealloc(GateIndex *self)
{
    free_all(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static inline int seen(const GateIndex *s, int32_t lit) { return (int)((s->seen[lit >> 6] >> (lit & 63)) & 1); }

static int gate_passes(const GateIndex *s, int32_t g)
{
    for (int32_t j = s->gates[g]; j < s->gates[g + 1]; j++)
        if (seen(s, s->gate_lits[j]))
            return 1;
    return 0;
}

static PyObject *GateIndex_query(GateIndex *self, PyObject *args)
{
    PyObject *found;
    Py_buffer ok;
    if (!PyArg_ParseTuple(args, "Oy*", &found, &ok))
        return NULL;
    if (self->index_at == NULL) {
        PyBuffer_Release(&ok);
        PyErr_SetString(PyExc_RuntimeError, "GateIndex not initialised");
        return NULL;
    }
    if (ok.len != self->n_rules) {
        PyBuffer_Release(&ok);
        PyErr_Format(PyExc_ValueError, "ok has %zd flags for %zd rules", ok.len, self->n_rules);
        return NULL;
    }
    const char *allowed = ok.buf;
    PyObject *lits = PySequence_List(found);  /* the found ids, twice: set the bits, then visit */
    if (lits == NULL) { PyBuffer_Release(&ok); return NULL; }
    Py_ssize_t nf = PyList_GET_SIZE(lits);
    int32_t stack_ids[256];
    int32_t *ids = nf <= 256 ? stack_ids : PyMem_Malloc((size_t)nf * sizeof(int32_t));
    if (ids == NULL) { Py_DECREF(lits); PyBuffer_Release(&ok); return PyErr_NoMemory(); }
    for (Py_ssize_t i = 0; i < nf; i++) {
        long v = PyLong_AsLong(PyList_GET_ITEM(lits, i));
        if ((v == -1 && PyErr_Occurred()) || v < 0 || v >= self->n_literals) {
            for (Py_ssize_t j = 0; j < i; j++)
                self->seen[ids[j] >> 6] = 0;
            if (ids != stack_ids) PyMem_Free(ids);
            Py_DECREF(lits); PyBuffer_Release(&ok);
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_ValueError, "literal id %ld out of range", v);
            return NULL;
        }
        ids[i] = (int32_t)v;
        self->seen[v >> 6] |= (uint64_t)1 << (v & 63);
    }
    Py_DECREF(lits);
    if (++self->query_no == 0) {  /* wrapped: forget every stamp */
        memset(self->stamp, 0, (size_t)self->n_slots * sizeof(uint32_t));
        self->query_no = 1;
    }
    /* No Python object is made while the bits are set (no finalizer can run another query on
     * this index in between): the passing patterns are collected in C first. */
    Py_ssize_t n_pass = 0, cap_pass = 64;
    int32_t *passed = PyMem_Malloc((size_t)cap_pass * 2 * sizeof(int32_t));
    int failed = passed == NULL;
    for (Py_ssize_t i = 0; !failed && i < nf; i++) {
        for (int32_t j = self->index_at[ids[i]]; j < self->index_at[ids[i] + 1]; j++) {
            int32_t si = self->index[j];
            if (self->stamp[si] == self->query_no)
                continue;
            self->stamp[si] = self->query_no;
            const Slot *s = &self->slots[si];
            if (!allowed[s->rule])
                continue;
            int32_t a0 = self->anchor_at[s->rule], a1 = self->anchor_at[s->rule + 1];
            if (a1 > a0) {
                int any = 0;
                for (int32_t a = a0; a < a1 && !any; a++)
                    any = seen(self, self->anchor_lits[a]);
                if (!any)
                    continue;
            }
            int pass = 1;
            for (int32_t g = s->later_at; g < s->later_at + s->later_n && pass; g++)
                pass = gate_passes(self, g);
            if (pass && s->branch_n) {
                pass = 0;
                for (int32_t b = s->branch_at; b < s->branch_at + s->branch_n && !pass; b++) {
                    int whole = 1;
                    for (int32_t g = self->branch_from[b]; g < self->branch_to[b] && whole; g++)
                        whole = gate_passes(self, g);
                    pass = whole;
                }
            }
            if (!pass)
                continue;
            if (n_pass == cap_pass) {
                int32_t *more = PyMem_Realloc(passed, (size_t)cap_pass * 4 * sizeof(int32_t));
                if (more == NULL) { failed = 1; break; }
                passed = more;
                cap_pass *= 2;
            }
            passed[2 * n_pass] = s->rule;
            passed[2 * n_pass + 1] = s->k;
            n_pass++;
        }
    }
    for (Py_ssize_t i = 0; i < nf; i++)  /* clear the bits for the next query */
        self->seen[ids[i] >> 6] = 0;
    if (ids != stack_ids)
        PyMem_Free(ids);
    PyBuffer_Release(&ok);
    if (failed) {
        PyMem_Free(passed);
        return PyErr_NoMemory();
    }
    PyObject *out = PyList_New(n_pass);
    for (Py_ssize_t i = 0; out != NULL && i < n_pass; i++) {
        PyObject *pair = Py_BuildValue("(ii)", passed[2 * i], passed[2 * i + 1]);
        if (pair == NULL)
            Py_CLEAR(out);
        else
            PyList_SET_ITEM(out, i, pair);
    }
    PyMem_Free(passed);
    return out;
}

static PyMethodDef GateIndex_methods[] = {
    {"query", (PyCFunction)GateIndex_query, METH_VARARGS, "query(found, ok) -> list of (rule, k)"},
    {NULL}
};

static PyTypeObject GateIndexType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "tonecheck._gates.GateIndex",
    .tp_doc = "Rule patterns by the literals that gate them.",
    .tp_basicsize = sizeof(GateIndex),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)GateIndex_init,
    .tp_dealloc = (destructor)GateIndex_dealloc,
    .tp_methods = GateIndex_methods,
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, "tonecheck._gates", "Which rule patterns may run (optional C path).", -1, NULL,
};

PyMODINIT_FUNC PyInit__gates(void)
{
    return tonecheck_module(&moduledef, &GateIndexType, "GateIndex");
}
