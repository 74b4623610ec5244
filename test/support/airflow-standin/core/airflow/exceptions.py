class AirflowException(Exception):
    pass


class AirflowNotFoundException(AirflowException):
    pass
