"""The Python `requests` examples of Flectra's REST API document
(../shared/spec/flectra-rest-api.rst), run verbatim against a running proxy. Only the
placeholders are substituted: the server URL, the credentials, the token, and the record id
(the document's 300 is the id its create example returned). One fix: the document's update
example lacks a comma after "www.flectrahq.com" (a Python syntax error); it is added here.

Usage: python3 tests/seed_examples.py http://127.0.0.1:PORT [db] [username] [password]
Exits non-zero on the first answer that differs from what the document shows.
"""

import sys

import requests

SERVER_URL = sys.argv[1]
DB, USERNAME, PASSWORD = (sys.argv[2:5] + ["demo", "admin", "admin"][len(sys.argv[2:5]):])[:3]


def check(condition, what, response):
    if not condition:
        print(f"FAILED: {what}: HTTP {response.status_code} {response.text}")
        sys.exit(1)
    print(f"ok: {what}")


# Create Token
db_config = {
    "username": USERNAME,
    "password": PASSWORD,
    "db": DB
}

server_url = SERVER_URL
get_token_url = "/api/auth/get_tokens"
url = server_url + get_token_url

response = requests.post(url=url, data=db_config)
out = response.json()
check(response.status_code == 200 and set(out) == {"company_id", "user_context", "access_token", "expires_in", "uid"}
      and out["expires_in"] == "600" and set(out["user_context"]) >= {"lang", "tz", "uid"},
      "Create Token", response)
YOUR_API_ACCESS_TOKEN = out["access_token"]

# Create Record
header = {
    "access_token": YOUR_API_ACCESS_TOKEN
}

data = {
    "name": "FlectraHQ",
    "email": "example@flectrahq.com",
    "website": "www.flectrahq.com"
}

server_url = SERVER_URL
post_url = '/api/res.partner'
url = server_url + post_url

response = requests.post(url=url, data=data, headers=header)
check(response.status_code == 200 and isinstance(response.json().get("id"), int), "Create Record", response)
RECORD_ID = response.json()["id"]

# Get Request for Single Record
header = {
    "access_token": YOUR_API_ACCESS_TOKEN
}
data={
    "field": "['name', 'email']",
}
server_url = SERVER_URL
get_url = '/api/res.partner/1'
url = server_url + get_url

response = requests.get(url=url, data=data, headers=header)
out = response.json()
check(response.status_code == 200 and isinstance(out, list) and len(out) == 1
      and set(out[0]) == {"email", "name", "id"} and out[0]["id"] == 1,
      "Get Request for Single Record", response)

# Get Request for Multiple Record
header = {
    "access_token": YOUR_API_ACCESS_TOKEN
}
data={
    "limit": 3,
    "field": "['name', 'email']",
    "order": 'name desc'
}
server_url = SERVER_URL
get_url = '/api/res.partner'
url = server_url + get_url

response = requests.get(url=url, data=data, headers=header)
out = response.json()
names = [r["name"] for r in out.get("results", [])]
check(response.status_code == 200 and out["count"] == 3 and len(names) == 3
      and names == sorted(names, reverse=True) and all(set(r) == {"email", "id", "name"} for r in out["results"]),
      "Get Request for Multiple Record", response)

# Update Record
header = {
    "access_token": YOUR_API_ACCESS_TOKEN
}
data={
    "name": "FlectraHQ",
    "email": "example@flectrahq.com",
    "website": "www.flectrahq.com",
    "id": RECORD_ID
}
server_url = SERVER_URL
put_url = '/api/res.partner'
url = server_url + put_url

response = requests.put(url=url, data=data, headers=header)
check(response.status_code == 200 and response.json() == {"desc": "Record Updated successfully!", "update": True},
      "Update Record", response)

# Delete Record
header = {
    "access_token": YOUR_API_ACCESS_TOKEN
}
data={
    "id": RECORD_ID
}
server_url = SERVER_URL
put_url = '/api/res.partner'
url = server_url + put_url

response = requests.delete(url=url, data=data, headers=header)
check(response.status_code == 200 and response.json() == {"desc": "Record Successfully Deleted!", "delete": True},
      "Delete Record", response)

# Delete Token
header = {
    "access_token": YOUR_API_ACCESS_TOKEN
}
server_url = SERVER_URL
del_token_url = "/api/auth/delete_tokens"
url = server_url + del_token_url

response = requests.post(url=url, headers=header)
check(response.status_code == 200 and response.json() == {"desc": "Token Successfully Deleted", "delete": True},
      "Delete Token", response)

print("all examples of the document passed")
