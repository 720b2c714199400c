import json, re

def parse_steps(path):
    """Parse a scenario file's steps (one per line) into dicts."""
    steps = []
    for line in open(path, encoding='utf-8'):
        s = line.strip()
        if s.startswith('Fire(') or s.startswith('Check(') or s.startswith('Document('):
            steps.append(parse_call(s.rstrip(',')))
    return steps

def skip_ws(s, i):
    while i < len(s) and s[i] in ' \n\t': i += 1
    return i

def parse_value(s, i):
    i = skip_ws(s, i)
    c = s[i]
    if c == '[':
        out = []; i += 1
        while True:
            i = skip_ws(s, i)
            if s[i] == ']': return out, i+1
            v, i = parse_value(s, i); out.append(v)
            i = skip_ws(s, i)
            if s[i] == ',': i += 1
    if c == '{':
        out = {}; i += 1
        while True:
            i = skip_ws(s, i)
            if s[i] == '}': return out, i+1
            k, i = parse_value(s, i)
            i = skip_ws(s, i); assert s[i] == ':', s[i:i+20]; i += 1
            v, i = parse_value(s, i); out[k] = v
            i = skip_ws(s, i)
            if s[i] == ',': i += 1
    if c == '"':
        j = i+1
        while s[j] != '"':
            if s[j] == '\\': j += 1
            j += 1
        return json.loads(s[i:j+1]), j+1
    m = re.match(r'-?\d+(\.\d+)?', s[i:])
    if m and m.group(0):
        t = m.group(0); return (float(t) if '.' in t else int(t)), i+len(t)
    m = re.match(r'[A-Za-z_]+', s[i:])
    name = m.group(0); j = i+len(name)
    if name in ('true','false','null'):
        return {'true':True,'false':False,'null':None}[name], j
    if j < len(s) and s[j] == '(':
        args, j = parse_args(s, j+1)
        return {'__call': name, **args}, j
    return {'__ident': name}, j

def parse_args(s, i):
    args = {}; pos = []
    while True:
        i = skip_ws(s, i)
        if s[i] == ')': return ({**args, '__pos': pos} if pos else args), i+1
        m = re.match(r'([a-z_]+)\s*:', s[i:])
        if m:
            key = m.group(1); i += len(m.group(0))
            v, i = parse_value(s, i); args[key] = v
        else:
            v, i = parse_value(s, i); pos.append(v)
        i = skip_ws(s, i)
        if s[i] == ',': i += 1

def parse_call(s):
    v, _ = parse_value(s, 0)
    return v
