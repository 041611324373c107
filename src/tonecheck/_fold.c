/* Normalisation's common case in C (optional): the one-to-one character fold, and what the
 * slower steps would need.
 *
 * tonecheck.normalize does the same with str.translate and regex searches when this extension
 * is not built; the tests check that both give the same text.
 *
 * Folder(table, separators, spoken): `table` maps code points to one-character strings (the
 *   width, case and traditional-to-simplified folds); `separators` and `spoken` are the
 *   characters an evader puts between characters and the spoken digits.
 * Folder.fold(text) -> (folded, flags): `text` with every character in the table replaced, and
 *   which slower steps may apply: 1 a separator character occurs, 2 a spoken digit occurs,
 *   4 a character other than a newline occurs three times in a row. A clear bit means that
 *   step has nothing to do; a set bit only means it may.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include "_native.h"
#include <stdint.h>
#include <string.h>

#define PAGE_BITS 8
#define PAGE_SIZE (1 << PAGE_BITS)
#define N_PAGES (0x110000 >> PAGE_BITS)

typedef struct {
    PyObject_HEAD
    Py_UCS4 *pages[N_PAGES];   /* folded character per code point (0: unchanged); NULL: page unchanged */
    uint8_t *marks[N_PAGES];   /* per code point: 1 separator, 2 spoken digit; NULL: none on the page */
} Folder;

static void Folder_clear(Folder *self)
{
    for (int p = 0; p < N_PAGES; p++) {
        PyMem_Free(self->pages[p]);
        PyMem_Free(self->marks[p]);
        self->pages[p] = NULL;
        self->marks[p] = NULL;
    }
}

static int set_mark(Folder *self, PyObject *chars, uint8_t bit)
{
    if (!PyUnicode_Check(chars)) {
        PyErr_SetString(PyExc_TypeError, "separators and spoken must be str");
        return -1;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(chars);
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ_CHAR(chars, i);
        uint8_t **m = &self->marks[c >> PAGE_BITS];
        if (*m == NULL && (*m = PyMem_Calloc(PAGE_SIZE, 1)) == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        (*m)[c & (PAGE_SIZE - 1)] |= bit;
    }
    return 0;
}

static int Folder_init(Folder *self, PyObject *args, PyObject *kwds)
{
    PyObject *table, *seps, *spoken;
    if (!PyArg_ParseTuple(args, "O!UU", &PyDict_Type, &table, &seps, &spoken))
        return -1;
    Folder_clear(self);
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(table, &pos, &key, &value)) {
        long cp = PyLong_AsLong(key);
        if (cp == -1 && PyErr_Occurred())
            goto fail;
        if (cp < 0 || cp >= 0x110000) {
            PyErr_Format(PyExc_ValueError, "code point %ld out of range", cp);
            goto fail;
        }
        if (!PyUnicode_Check(value) || PyUnicode_GET_LENGTH(value) != 1) {
            PyErr_Format(PyExc_ValueError, "the fold of U+%04lX is not one character", cp);
            goto fail;
        }
        Py_UCS4 to = PyUnicode_READ_CHAR(value, 0);
        if (to == (Py_UCS4)cp)
            continue;
        Py_UCS4 **page = &self->pages[cp >> PAGE_BITS];
        if (*page == NULL && (*page = PyMem_Calloc(PAGE_SIZE, sizeof(Py_UCS4))) == NULL) {
            PyErr_NoMemory();
            goto fail;
        }
        (*page)[cp & (PAGE_SIZE - 1)] = to ? to : 0x110000;  /* 0x110000 stands for a fold to U+0000 */
    }
    if (set_mark(self, seps, 1) < 0 || set_mark(self, spoken, 2) < 0)
        goto fail;
    return 0;
fail:
    Folder_clear(self);
    return -1;
}

static void Folder_dealloc(Folder *self)
{
    Folder_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Folder_fold(Folder *self, PyObject *arg)
{
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "fold() needs a str");
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(arg);
    int kind = PyUnicode_KIND(arg);
    const void *d = PyUnicode_DATA(arg);
    Py_UCS4 *out = PyMem_Malloc((size_t)(n ? n : 1) * sizeof(Py_UCS4));
    if (out == NULL)
        return PyErr_NoMemory();
    int flags = 0, changed = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, d, i);
        const Py_UCS4 *page = self->pages[c >> PAGE_BITS];
        if (page != NULL && page[c & (PAGE_SIZE - 1)]) {
            Py_UCS4 to = page[c & (PAGE_SIZE - 1)];
            c = to == 0x110000 ? 0 : to;
            changed = 1;
        }
        out[i] = c;
        const uint8_t *m = self->marks[c >> PAGE_BITS];
        if (m != NULL)
            flags |= m[c & (PAGE_SIZE - 1)];
        if (i >= 2 && c != '\n' && out[i - 1] == c && out[i - 2] == c)
            flags |= 4;
    }
    PyObject *folded;
    if (changed) {
        folded = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, out, n);
    } else {
        Py_INCREF(arg);
        folded = arg;
    }
    PyMem_Free(out);
    if (folded == NULL)
        return NULL;
    PyObject *res = Py_BuildValue("(Ni)", folded, flags);
    return res;
}

static PyMethodDef Folder_methods[] = {
    {"fold", (PyCFunction)Folder_fold, METH_O, "fold(text) -> (folded, flags)"},
    {NULL}
};

static PyTypeObject FolderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "tonecheck._fold.Folder",
    .tp_doc = "The one-to-one character fold of normalisation.",
    .tp_basicsize = sizeof(Folder),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Folder_init,
    .tp_dealloc = (destructor)Folder_dealloc,
    .tp_methods = Folder_methods,
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, "tonecheck._fold", "Normalisation's character fold (optional C path).", -1, NULL,
};

PyMODINIT_FUNC PyInit__fold(void)
{
    return tonecheck_module(&moduledef, &FolderType, "Folder");
}
