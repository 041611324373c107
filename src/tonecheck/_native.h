/* Shared by tonecheck's optional C modules (_grams, _gates, _fold). */
#ifndef TONECHECK_NATIVE_H
#define TONECHECK_NATIVE_H

#include <Python.h>

/* tonecheck.native loads a module only when its API matches: a stale build is not used.
 * Raise it with tonecheck/native.py's API whenever a module's interface changes. */
#define TONECHECK_C_API 3

/* The module with its API number and its one type (NULL: none). */
static PyObject *tonecheck_module(PyModuleDef *def, PyTypeObject *type, const char *type_name)
{
    if (type != NULL && PyType_Ready(type) < 0)
        return NULL;
    PyObject *m = PyModule_Create(def);
    if (m == NULL)
        return NULL;
    if (PyModule_AddIntConstant(m, "API", TONECHECK_C_API) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    if (type != NULL) {
        Py_INCREF(type);
        if (PyModule_AddObject(m, type_name, (PyObject *)type) < 0) {
            Py_DECREF(type);
            Py_DECREF(m);
            return NULL;
        }
    }
    return m;
}

#endif
