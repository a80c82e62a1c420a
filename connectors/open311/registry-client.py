"""Drives the hub's Open311 GeoReport v2 port with a client library from the Python package registry,
not one written here: `georeport` (requirements-open311-clients.txt), in JSON and in XML.

  registry-client.py write ROOT FORM_JSON   GET services, GET services/{code}, POST requests
  registry-client.py read ROOT ID_JSON ID_XML   GET requests?service_request_id=, GET requests/{id}, an unknown id

Prints one JSON object, by format, of what the library returned (XML as the library parses it).
georeport has no POST: the report is posted with `requests` (georeport's own HTTP library) as the
specification's form; the other registry clients with a POST (open311 1.1, three 0.8.0) are Python 2
only and fail to import on Python 3.
"""
import json
import sys

try:
    import georeport
    import requests
    import xmltodict
except ImportError as error:
    sys.exit(f'the Open311 client library is not installed ({error}): run scripts/install-open311-clients.sh')

FORMATS = ('json', 'xml')
JURISDICTION = 'huangpu'


def as_list(value):
    """xmltodict gives one repeated element as a dict, several as a list."""
    return value if isinstance(value, list) else [value]


def write(root, form):
    out = {'library': f'georeport {georeport.__version__}'}
    for fmt in FORMATS:
        client = georeport.GeoReport(root, jurisdiction=JURISDICTION, output_format=fmt)
        services = as_list(client.get_service_list())
        definition = client.get_service_definition('SW-01')
        answer = requests.post(f'{root}/requests.{fmt}', data={**form, 'description': f'{form["description"]} ({fmt})'}, timeout=10)
        answer.raise_for_status()
        posted = answer.json()[0] if fmt == 'json' else xmltodict.parse(answer.content)['service_requests']['request']
        if fmt == 'xml':
            definition = {**definition, 'attributes': as_list(definition['attributes']['attribute'])}
        out[fmt] = {'services': services, 'definition': definition, 'posted': {'status': answer.status_code, **posted}}
    print(json.dumps(out, ensure_ascii=False))


def unknown(client, fmt):
    """A request id that names no call: the library raises, and the body is the spec's error list."""
    try:
        client.get_service_request('C' + '0' * 20)
    except requests.HTTPError as error:
        body = error.response
        errors = body.json() if fmt == 'json' else as_list(xmltodict.parse(body.content)['errors']['error'])
        return {'status': body.status_code, 'errors': errors}
    return None


def read(root, ids):
    out = {}
    for fmt, request_id in zip(FORMATS, ids):
        client = georeport.GeoReport(root, jurisdiction=JURISDICTION, output_format=fmt)
        listed = as_list(client.get_service_requests(service_request_id=request_id))
        out[fmt] = {'listed': listed, 'request': client.get_service_request(request_id), 'unknown': unknown(client, fmt)}
    print(json.dumps(out, ensure_ascii=False))


if __name__ == '__main__':
    if sys.argv[1:2] == ['write'] and len(sys.argv) == 4:
        write(sys.argv[2], json.loads(sys.argv[3]))
    elif sys.argv[1:2] == ['read'] and len(sys.argv) == 5:
        read(sys.argv[2], sys.argv[3:5])
    else:
        sys.exit(__doc__)
