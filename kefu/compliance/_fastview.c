/* The rule guard's per-character and per-hit loops in C (decisions: "The rule guard's text
 * view, sentence split and scan bookkeeping in C").
 *
 * The same computation as kefu/compliance/textview.py (_parts), sentences.py
 * (_split_sentences, scripts_of) and prescan.py (_collect), which stay the reference and the
 * fallback: the sources run them, and tests compare both on every corpus text and every BMP
 * character.
 * Folding one character is still decided in Python (the fold table's __missing__); this
 * module only remembers each answer for the BMP, so a check never leaves C for a character it
 * has seen.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

/* folded + 1 per BMP code point; 0: not asked yet. */
static uint32_t fold_cache[0x10000];


static int
fold_char(PyObject *table, Py_UCS4 c, Py_UCS4 *out)
{
    if (c < 0x10000 && fold_cache[c]) {
        *out = fold_cache[c] - 1;
        return 0;
    }
    PyObject *key = PyLong_FromUnsignedLong(c);
    if (key == NULL)
        return -1;
    PyObject *value = PyObject_GetItem(table, key);
    Py_DECREF(key);
    if (value == NULL)
        return -1;
    if (!PyUnicode_Check(value) || PyUnicode_GET_LENGTH(value) != 1) {
        Py_DECREF(value);
        PyErr_SetString(PyExc_ValueError, "the fold table must map a character to one character");
        return -1;
    }
    Py_UCS4 folded = PyUnicode_READ_CHAR(value, 0);
    Py_DECREF(value);
    if (c < 0x10000)
        fold_cache[c] = folded + 1;
    *out = folded;
    return 0;
}

/* textview._SEPARATORS, one character: \s, ASCII punctuation minus # $ % + @, and the ranges. */
static inline int
is_separator(Py_UCS4 c)
{
    if (c < 0x80) {
        switch (c) {
        case '!': case '"': case '&': case '\'': case '(': case ')': case '*': case ',':
        case '-': case '.': case '/': case ':': case ';': case '<': case '=': case '>':
        case '?': case '[': case '\\': case ']': case '^': case '_': case '`': case '{':
        case '|': case '}': case '~':
            return 1;
        default:
            return Py_UNICODE_ISSPACE(c);
        }
    }
    if ((c >= 0xa1 && c <= 0xa4) || (c >= 0xa6 && c <= 0xbf) || (c >= 0x2010 && c <= 0x2027) ||
        (c >= 0x2030 && c <= 0x205e) || (c >= 0x3000 && c <= 0x303f) || c == 0x30fb ||
        c == 0xff5e)
        return 1;
    return Py_UNICODE_ISSPACE(c);
}

static inline int
is_cjk(Py_UCS4 c)
{
    return (c >= 0x3400 && c <= 0x9fff) || (c >= 0xf900 && c <= 0xfaff);
}

static inline int
is_zero_width(Py_UCS4 c)
{
    return c == 0x200b || c == 0x200c || c == 0x200d || c == 0x2060 || c == 0xfeff || c == 0xad;
}

static inline int
is_ascii_alpha(Py_UCS4 c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
all_space(const Py_UCS4 *buf, Py_ssize_t start, Py_ssize_t end)
{
    for (Py_ssize_t i = start; i < end; i++)
        if (!Py_UNICODE_ISSPACE(buf[i]))
            return 0;
    return 1;
}

/* build(text, table) -> (folded, compact, mapped or None), as textview.build_view. */
static PyObject *
fastview_build(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2 || !PyUnicode_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "build(text: str, table)");
        return NULL;
    }
    PyObject *text = args[0], *table = args[1];
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    PyObject *result = NULL, *folded = NULL, *compact = NULL, *mapped = NULL;
    /* buf: the folded text; runs: separator runs as (start, end); keep: 0 where dropped. */
    Py_UCS4 *buf = PyMem_Malloc(sizeof(Py_UCS4) * (n + 1));
    Py_ssize_t *runs = PyMem_Malloc(sizeof(Py_ssize_t) * 2 * (n + 1));
    char *drop = PyMem_Calloc(n + 1, 1);
    if (buf == NULL || runs == NULL || drop == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    int changed = 0, any_zero_width = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (fold_char(table, c, &buf[i]) < 0)
            goto done;
        changed |= buf[i] != c;
        any_zero_width |= is_zero_width(buf[i]);
    }
    Py_ssize_t nruns = 0;
    for (Py_ssize_t i = 0; i < n;) {
        if (!is_separator(buf[i])) {
            i++;
            continue;
        }
        Py_ssize_t start = i;
        while (i < n && is_separator(buf[i]))
            i++;
        runs[2 * nruns] = start;
        runs[2 * nruns + 1] = i;
        nruns++;
    }
    int dropped = 0;
    /* textview._glued */
    for (Py_ssize_t idx = 0; idx < nruns; idx++) {
        Py_ssize_t start = runs[2 * idx], end = runs[2 * idx + 1];
        if (start == 0 || end == n)
            continue;
        Py_ssize_t prev_len = start - (idx ? runs[2 * idx - 1] : 0);
        Py_ssize_t next_len = (idx + 1 < nruns ? runs[2 * idx + 2] : n) - end;
        Py_UCS4 prev_ch = buf[start - 1], next_ch = buf[end];
        int glue;
        if (prev_len > 1 && next_len > 1)
            glue = is_cjk(prev_ch) && is_cjk(next_ch) && all_space(buf, start, end);
        else if (is_cjk(prev_ch) && is_cjk(next_ch))
            glue = all_space(buf, start, end) || prev_len == 1 || next_len == 1;
        else
            glue = prev_len == 1 && next_len == 1 && is_ascii_alpha(prev_ch) &&
                   is_ascii_alpha(next_ch);
        if (glue) {
            memset(drop + start, 1, end - start);
            dropped = 1;
        }
    }
    if (any_zero_width) {
        for (Py_ssize_t i = 0; i < n; i++)
            if (is_zero_width(buf[i])) {
                drop[i] = 1;
                dropped = 1;
            }
    }
    if (changed) {
        folded = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, buf, n);
        if (folded == NULL)
            goto done;
    }
    else {
        folded = Py_NewRef(text);
    }
    if (!dropped) {
        result = PyTuple_Pack(3, folded, folded, Py_None);
        goto done;
    }
    Py_ssize_t kept = 0;
    for (Py_ssize_t i = 0; i < n; i++)
        if (!drop[i])
            kept++;
    mapped = PyTuple_New(kept);
    if (mapped == NULL)
        goto done;
    Py_ssize_t j = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (drop[i])
            continue;
        PyObject *index = PyLong_FromSsize_t(i);
        if (index == NULL)
            goto done;
        PyTuple_SET_ITEM(mapped, j, index);
        buf[j++] = buf[i];
    }
    compact = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, buf, kept);
    if (compact == NULL)
        goto done;
    result = PyTuple_Pack(3, folded, compact, mapped);
done:
    Py_XDECREF(folded);
    Py_XDECREF(compact);
    Py_XDECREF(mapped);
    PyMem_Free(buf);
    PyMem_Free(runs);
    PyMem_Free(drop);
    return result;
}

/* sentences._short_question */
static int
short_question(int kind, const void *data, Py_ssize_t start, Py_ssize_t end)
{
    Py_ssize_t len = end - start;
    if (len <= 8)
        return 1;
    if (len > 24)
        return 0;
    Py_ssize_t words = 0;
    int in_word = 0;
    for (Py_ssize_t i = start; i < end; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c >= 0x3400 && c <= 0x9fff)
            return 0;
        if (Py_UNICODE_ISSPACE(c))
            in_word = 0;
        else if (!in_word) {
            in_word = 1;
            words++;
        }
    }
    return words <= 4;
}

static inline int
is_sentence_end(Py_UCS4 c)
{
    return c == 0x3002 || c == '!' || c == '?' || c == ';' || c == '\n';
}

static int
append_span(PyObject *spans, Py_ssize_t start, Py_ssize_t end)
{
    PyObject *span = Py_BuildValue("(nn)", start, end);
    if (span == NULL)
        return -1;
    int rc = PyList_Append(spans, span);
    Py_DECREF(span);
    return rc;
}

/* sentences(text) -> [(start, end)], as sentences.split_sentences. */
static PyObject *
fastview_sentences(PyObject *module, PyObject *text)
{
    (void)module;
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "sentences(text: str)");
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    PyObject *spans = PyList_New(0);
    if (spans == NULL)
        return NULL;
    Py_ssize_t start = 0;
    for (Py_ssize_t i = 0; i < n;) {
        /* _SENTENCE_SPLIT: a run of [。!?;\n], or "." not followed by a digit. */
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        Py_ssize_t m_end;
        if (is_sentence_end(c)) {
            m_end = i + 1;
            while (m_end < n && is_sentence_end(PyUnicode_READ(kind, data, m_end)))
                m_end++;
        }
        else if (c == '.' && !(i + 1 < n && Py_UNICODE_ISDECIMAL(PyUnicode_READ(kind, data, i + 1)))) {
            m_end = i + 1;
        }
        else {
            i++;
            continue;
        }
        if (c == '?' && m_end < n && short_question(kind, data, start, i)) {
            /* A short question joins the answer after it (sentences.split_sentences). */
            i = m_end;
            continue;
        }
        if (i > start && append_span(spans, start, i) < 0) {
            Py_DECREF(spans);
            return NULL;
        }
        start = m_end;
        i = m_end;
    }
    if (start < n && append_span(spans, start, n) < 0) {
        Py_DECREF(spans);
        return NULL;
    }
    return spans;
}

/* scripts(text) -> 1 if it has a CJK character (U+3400..U+9FFF) | 2 if two a-z in a row. */
static PyObject *
fastview_scripts(PyObject *module, PyObject *text)
{
    (void)module;
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "scripts(text: str)");
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    long found = 0;
    int prev_latin = 0;
    for (Py_ssize_t i = 0; i < n && found != 3; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        int latin = c >= 'a' && c <= 'z';
        if (latin && prev_latin)
            found |= 2;
        else if (c >= 0x3400 && c <= 0x9fff)
            found |= 1;
        prev_latin = latin;
    }
    return PyLong_FromLong(found);
}

static int
append_to(PyObject *lists, PyObject *name, long long place)
{
    PyObject *value = PyLong_FromLongLong(place);
    if (value == NULL)
        return -1;
    PyObject *list = PyDict_GetItemWithError(lists, name);
    int rc;
    if (list != NULL) {
        rc = PyList_Append(list, value);
    }
    else if (PyErr_Occurred()) {
        rc = -1;
    }
    else {
        list = PyList_New(1);
        if (list == NULL) {
            Py_DECREF(value);
            return -1;
        }
        PyList_SET_ITEM(list, 0, Py_NewRef(value));
        rc = PyDict_SetItem(lists, name, list);
        Py_DECREF(list);
    }
    Py_DECREF(value);
    return rc;
}

/* collect(matches, values) -> (cued, by_group, lexical, present), as the loop of prescan.scan
 * over the automaton's (key, start, end) matches; values[key] is (cue codes, pattern starts
 * (group, base), concept starts (name, index), required literals (group, index)). */
static PyObject *
fastview_collect(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2 || !PyList_Check(args[0]) || !PyTuple_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "collect(matches: list, values: tuple)");
        return NULL;
    }
    PyObject *matches = args[0], *values = args[1];
    PyObject *cued = PySet_New(NULL), *by_group = PyDict_New(), *lexical = PyDict_New();
    PyObject *present = PySet_New(NULL);
    if (cued == NULL || by_group == NULL || lexical == NULL || present == NULL)
        goto fail;
    Py_ssize_t nvalues = PyTuple_GET_SIZE(values);
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(matches); i++) {
        PyObject *match = PyList_GET_ITEM(matches, i);
        if (!PyTuple_Check(match) || PyTuple_GET_SIZE(match) < 2) {
            PyErr_SetString(PyExc_TypeError, "a match is (key, start, end)");
            goto fail;
        }
        Py_ssize_t key = PyLong_AsSsize_t(PyTuple_GET_ITEM(match, 0));
        long long start = PyLong_AsLongLong(PyTuple_GET_ITEM(match, 1));
        if (PyErr_Occurred())
            goto fail;
        if (key < 0 || key >= nvalues) {
            PyErr_SetString(PyExc_IndexError, "automaton key out of range");
            goto fail;
        }
        PyObject *value = PyTuple_GET_ITEM(values, key);
        if (!PyTuple_Check(value) || PyTuple_GET_SIZE(value) != 4) {
            PyErr_SetString(PyExc_TypeError, "an automaton value is a 4-tuple");
            goto fail;
        }
        PyObject *cues = PyTuple_GET_ITEM(value, 0), *ats = PyTuple_GET_ITEM(value, 1);
        PyObject *concept_at = PyTuple_GET_ITEM(value, 2), *needs = PyTuple_GET_ITEM(value, 3);
        if (!PyAnySet_Check(cues) || !PyTuple_Check(ats) || !PyTuple_Check(concept_at) ||
            !PyTuple_Check(needs)) {
            PyErr_SetString(PyExc_TypeError, "an automaton value is (set, tuple, tuple, tuple)");
            goto fail;
        }
        if (PySet_GET_SIZE(cues) && _PySet_Update(cued, cues) < 0)
            goto fail;
        for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(ats); j++) {
            PyObject *at = PyTuple_GET_ITEM(ats, j);
            if (!PyTuple_Check(at) || PyTuple_GET_SIZE(at) != 2) {
                PyErr_SetString(PyExc_TypeError, "a pattern start is (group, base)");
                goto fail;
            }
            long long base = PyLong_AsLongLong(PyTuple_GET_ITEM(at, 1));
            if (base == -1 && PyErr_Occurred())
                goto fail;
            if (append_to(by_group, PyTuple_GET_ITEM(at, 0), base | start) < 0)
                goto fail;
        }
        for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(concept_at); j++) {
            PyObject *at = PyTuple_GET_ITEM(concept_at, j);
            if (!PyTuple_Check(at) || PyTuple_GET_SIZE(at) != 2) {
                PyErr_SetString(PyExc_TypeError, "a concept start is (name, index)");
                goto fail;
            }
            long long index = PyLong_AsLongLong(PyTuple_GET_ITEM(at, 1));
            if (index == -1 && PyErr_Occurred())
                goto fail;
            /* prescan.ALTERNATIVE_SHIFT */
            if (append_to(lexical, PyTuple_GET_ITEM(at, 0), start << 16 | index) < 0)
                goto fail;
        }
        for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(needs); j++)
            if (PySet_Add(present, PyTuple_GET_ITEM(needs, j)) < 0)
                goto fail;
    }
    PyObject *name, *places;
    Py_ssize_t pos = 0;
    while (PyDict_Next(lexical, &pos, &name, &places))
        if (PyList_Sort(places) < 0)
            goto fail;
    PyObject *result = PyTuple_Pack(4, cued, by_group, lexical, present);
    Py_DECREF(cued);
    Py_DECREF(by_group);
    Py_DECREF(lexical);
    Py_DECREF(present);
    return result;
fail:
    Py_XDECREF(cued);
    Py_XDECREF(by_group);
    Py_XDECREF(lexical);
    Py_XDECREF(present);
    return NULL;
}

static PyMethodDef fastview_methods[] = {
    {"collect", (PyCFunction)(void (*)(void))fastview_collect, METH_FASTCALL,
     "collect(matches, values) -> (cued, by_group, lexical, present), as prescan.scan"},
    {"sentences", (PyCFunction)fastview_sentences, METH_O,
     "sentences(text) -> [(start, end)], as sentences.split_sentences"},
    {"scripts", (PyCFunction)fastview_scripts, METH_O,
     "scripts(text) -> 1 (CJK) | 2 (Latin), as sentences.scripts_of"},
    {"build", (PyCFunction)(void (*)(void))fastview_build, METH_FASTCALL,
     "build(text, table) -> (folded, compact, mapped or None)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef fastview_module = {
    PyModuleDef_HEAD_INIT, "kefu.compliance._fastview",
    "The rule guard's text view in one C pass (see textview.py).", -1, fastview_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__fastview(void)
{
    return PyModule_Create(&fastview_module);
}
